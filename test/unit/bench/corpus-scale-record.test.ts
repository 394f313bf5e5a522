import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_SCALE_BLOCK, readCorpusScaleRecords, renderCorpusScaleMarkdown, type CorpusScaleRecord } from '../../../bench/corpus-scale-record.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';
import { fixtureProvenance } from '../../support/provenance.js';

/*
 * The README's corpus-scale tables are the committed records' (docs/scale/corpus-*.json):
 * the block is what renderCorpusScaleMarkdown makes of them, and its figures are the records' own.
 */

test('the README corpus-scale tables are generated from docs/scale/corpus-*.json', () => {
  const records = readCorpusScaleRecords(join(REPO, 'docs', 'scale'));
  assert.ok(records.length > 0, 'at least one corpus-scale record is committed');
  const block = CORPUS_SCALE_BLOCK.exec(readFileSync(join(REPO, 'README.md'), 'utf8'));
  assert.ok(block, 'the README has the corpus-scale block');
  assert.equal(block[2], renderCorpusScaleMarkdown(records));
  for (const r of records) {
    // A record is a whole run: every stage, with its rows in and its disk adding up.
    assert.deepEqual(
      r.stages.map((s) => s.stage),
      ['ingest', 'queries', ...(r.params.encoder === 'trained' ? ['train'] : []), 'encode', 'index', 'mine', 'serve', 'eval'],
    );
    assert.ok(r.provenance.commit && !r.provenance.dirty, `${r.command}: no clean commit`);
    // A run continued after a change of code names every commit it ran at, in order, each clean; the last is the record's.
    assert.equal(r.code.at(-1), r.provenance.describe, 'the last attempt ran at the commit the record names');
    assert.equal(new Set(r.code).size, r.code.length, `${r.command}: a commit named twice in ${r.code.join(', ')}`);
    assert.ok(
      r.code.every((c) => /^[0-9a-f]{7,40}$/.test(c)),
      `${r.command}: an attempt at uncommitted code (${r.code.join(', ')})`,
    );
    const { bytesPerPassage, ...parts } = r.disk;
    assert.ok(Math.abs(Object.values(parts).reduce((n, b) => n + b, 0) / r.params.rows - bytesPerPassage) < 1e-6);
    assert.equal(r.evaluation.queries, r.params.queries);
    assert.deepEqual(
      r.evaluation.latency.ivfpq.map((l) => l.clients),
      r.clients,
    );
  }
});

test('the corpus-scale table: per-row cost of the largest run against the smallest, for the stages that go through every passage', () => {
  const stage = (name: string, seconds: number, items: number, unit = 'passages') => ({
    stage: name,
    seconds,
    attempts: 1,
    peakRssMiB: { worker: seconds },
    bytes: 2 ** 20,
    items,
    unit,
  });
  const record = (rows: number, encodeSeconds: number): CorpusScaleRecord => ({
    format: 'sci-cluster/corpus-scale-record@1',
    command: `node dist/bench/corpus-scale.js --rows ${rows}`,
    provenance: fixtureProvenance(),
    code: ['aaaaaaa'],
    params: { rows, shards: 16, workers: 2, dtype: 'f16', kind: 'synsets', encoder: 'hashed', trainSteps: 1, queries: 10, mineQueries: 20 },
    clients: [1, 8],
    stages: [stage('encode', encodeSeconds, rows), stage('mine', 5, 20, 'queries')],
    evaluation: {
      queries: 10,
      successAt10: { exact: 0.9, ivfpq: 0.5, bm25: 0.95 },
      ivfpqRecallAt10: 0.4,
      latency: { ivfpq: [{ clients: 1, p50Ms: 3, p99Ms: 9, qps: 300 }], bm25: [{ clients: 1, p50Ms: 5, p99Ms: 20, qps: 200 }] },
    },
    disk: { passages: rows * 1000, embeddings: rows * 300, indexes: rows * 200, model: 0, negatives: 0, bytesPerPassage: 1500 },
  });
  const md = renderCorpusScaleMarkdown([record(21_000_000, 2310), record(1_000_000, 100)]);
  const lines = md.split('\n');
  assert.match(lines[0]!, /^\| stage \| 1M: s \| 1M: rate \| 21M: s \| 21M: rate \| per row, 21M \/ 1M \|/);
  // 2310 s / 21M against 100 s / 1M: 1.10 per row; mine goes through queries, not passages: no ratio.
  assert.match(lines[2]!, /^\| encode \| 100\.0 \| 10,000 passages\/s \| 2,310\.0 \| 9,091 passages\/s \| 1\.10 \| worker 100 → 2,310 \| 1 → 1 \|$/);
  assert.match(lines[3]!, /^\| mine \| 5\.0 \| 4\.0 queries\/s \| 5\.0 \| 4\.0 queries\/s \| – \|/);
  assert.ok(md.includes('| 21M synsets, 16 shards | 10 | 90.0% / 50.0% / 95.0% | 0.400 | 1 client: 3.0 / 9.0, 300 | 1 client: 5.0 / 20.0, 200 |'));
  assert.ok(
    md.includes(
      '- 1M: **1.50 KB a passage** on disk (passages and queries 1.00, f16 embeddings 0.30, indexes 0.20, model 0.00, negatives 0.00); `node dist/bench/corpus-scale.js --rows 1000000` at aaaaaaa, 2 cores, 24 GiB.',
    ),
  );
});
