import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INGEST_SCALE_BLOCK, readIngestScaleRecord, renderIngestScaleMarkdown, type IngestScaleRecord } from '../../../bench/ingest-scale-record.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';
import { fixtureProvenance } from '../../support/provenance.js';

/*
 * bench/ingest-scale's README table is the committed record's (docs/scale/ingest-scale.json): the block is what
 * renderIngestScaleMarkdown makes of it, with the per-row ratio and each process's busy share computed from its runs.
 */

test('the README ingest-scale block is generated from docs/scale/ingest-scale.json, a run at a clean commit that wrote every shard', () => {
  const file = join(REPO, 'docs', 'scale', 'ingest-scale.json');
  assert.ok(existsSync(file), 'the ingest-scale record is committed');
  const record = readIngestScaleRecord(file);
  const block = INGEST_SCALE_BLOCK.exec(readFileSync(join(REPO, 'README.md'), 'utf8'));
  assert.ok(block, 'the README has the ingest-scale block');
  assert.equal(block[2], renderIngestScaleMarkdown(record));
  assert.ok(record.provenance.commit && !record.provenance.dirty, 'recorded at a clean commit');
  for (const run of record.runs) assert.equal(run.shards, Math.ceil(run.rows / record.rowsPerShard), `${run.rows} rows: every shard written`);
});

test('the ingest-scale table: per-row cost against the smallest size, each process busy as a share of the wall time', () => {
  const run = (rows: number, seconds: number) => ({
    rows,
    shards: Math.ceil(rows / 62_500),
    seconds,
    cpuSeconds: { generator: seconds * 0.98, ingest: seconds / 4 },
    peakRssMiB: { generator: 800, ingest: rows / 50_000 },
    bytes: rows * 850,
    pageCacheDropped: true,
  });
  const record: IngestScaleRecord = {
    format: 'sci-cluster/ingest-scale-record@1',
    command: 'node dist/bench/ingest-scale.js --rows 1000000,21000000 --rows-per-shard 62500 --kind synsets',
    provenance: fixtureProvenance(23.5),
    kind: 'synsets',
    rowsPerShard: 62_500,
    // Given largest first: the table orders by size and compares with the smallest.
    runs: [run(21_000_000, 735), run(1_000_000, 32)],
  };
  const lines = renderIngestScaleMarkdown(record).split('\n');
  assert.equal(lines[2], '| 1M | 16 | 32.0 | 31,250 | 1.00 | 31.4 s (98%) | 8.0 s (25%) | 800 / 20 | 811 |');
  assert.equal(lines[3], '| 21M | 336 | 735.0 | 28,571 | 1.09 | 720.3 s (98%) | 183.8 s (25%) | 800 / 420 | 17,023 |');
  assert.match(lines[5]!, /at aaaaaaa, 2 cores, 23.5 GiB; synsets passages, 62,500 a shard; the page cache emptied before each size\.$/);
});
