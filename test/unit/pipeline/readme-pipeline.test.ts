import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPipelineConfig } from '../../../cli/pipeline-cmd.js';
import { readmeBlock, recordBlocks, wordnetHeadline } from '../../../cli/results-cmd.js';
import {
  finalStage,
  readPipelineRecord,
  renderPipelineMarkdown,
  renderRecordComparison,
  renderSeedCheck,
  resolvedPipelineConfig,
  summarizeSeeds,
  type PipelineState,
} from '../../../pipeline/index.js';
import { configFingerprint, recordCommit } from '../../../results/index.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';

/*
 * The README's pipeline figures are the committed result records': each block between its markers is
 * what the renderer makes of the record, the record's summary is its own runs' mean ± std, it ran at one
 * clean commit, and its resolved config is today's config/pipelines/wordnet.yaml with today's defaults
 * (a changed default fails here, instead of leaving a table HEAD does not reproduce).
 */

const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
const block = (name: string) => {
  const found = readmeBlock(readme, name);
  assert.ok(found !== null, `the README has the ${name} block`);
  return found;
};
const record = (file: string) => readPipelineRecord(join(REPO, 'docs', 'results', file));
const configFile = join(REPO, 'config', 'pipelines', 'wordnet.yaml');

test("the README's pipeline table is docs/results/pipeline-wordnet.json, a record of today's config at one clean commit", () => {
  const wordnet = record('pipeline-wordnet.json');
  assert.deepEqual(wordnet.seeds, [1, 2, 3]);
  assert.match(recordCommit(wordnet), /^[0-9a-f]{40}$/);
  const config = loadPipelineConfig(configFile);
  assert.equal(wordnet.configFingerprint, configFingerprint(resolvedPipelineConfig(config)), 'the record ran the config HEAD ships (defaults included)');
  const states = wordnet.body.runs.map((run) => ({ seed: run.seed, results: run.results }) as unknown as PipelineState);
  assert.deepEqual(wordnet.body.summary, summarizeSeeds(states, config), "the summary is the runs' mean ± std");
  assert.equal(block('pipeline-record:wordnet'), renderPipelineMarkdown(wordnet));
});

test('seeds 4 and 5 are checked against seeds 1–3 in the README, from their own record of the same config', () => {
  const reference = record('pipeline-wordnet.json');
  const check = record('pipeline-wordnet-seeds-4-5.json');
  assert.deepEqual(check.seeds, [4, 5]);
  recordCommit(check);
  assert.equal(block('pipeline-record:seed-check'), renderSeedCheck(reference, check, finalStage(loadPipelineConfig(configFile))));
});

test('the tokenizer A/B in the README is its two records (seed 1, WordPiece over Porter stems against over words)', () => {
  const stems = record('tokenizer-ab-stems.json');
  const words = record('tokenizer-ab-words.json');
  for (const r of [stems, words]) recordCommit(r);
  const stem = (r: typeof stems) => (r.config as { train: { tokenizer: { stem: boolean } } }).train.tokenizer.stem;
  assert.equal(stem(stems), true);
  assert.equal(stem(words), false);
  assert.equal(
    block('pipeline-record:tokenizer-ab'),
    renderRecordComparison(
      [
        { label: 'stems', record: stems },
        { label: 'words', record: words },
      ],
      ['Recall@10', 'MRR@10', 'Recall@100'],
      ['dev', 'test'],
    ),
  );
});

test('sci results readme renders exactly these blocks: every record block in the README is current', () => {
  for (const b of recordBlocks(REPO)) assert.equal(block(b.name), b.markdown, `${b.name}: run sci results readme`);
});

test("the demo's last line (sci results headline) quotes the record: final stage, BM25 and hybrid on dev", () => {
  const wordnet = record('pipeline-wordnet.json');
  const final = finalStage(loadPipelineConfig(configFile));
  const line = wordnetHeadline(REPO);
  const mean = (stage: string, metric: string) => wordnet.body.summary.rows.find((r) => r.stage === stage && r.split === 'dev')!.mean[metric]!;
  const std = (stage: string, metric: string) => wordnet.body.summary.rows.find((r) => r.stage === stage && r.split === 'dev')!.std[metric]!;
  const quoted =
    /dev Recall@10 (\S+) ± (\S+), MRR@10 (\S+) ± (\S+), Recall@100 (\S+) ± (\S+) \(BM25: (\S+), (\S+), (\S+)\); fused with BM25, Recall@10 (\S+) and Recall@100 (\S+) \(seeds 1, 2, 3 at ([0-9a-f]{7}): docs\/results\/pipeline-wordnet\.json\)\.$/.exec(
      line,
    );
  assert.ok(quoted, line);
  const expected = [
    mean(final, 'Recall@10'),
    std(final, 'Recall@10'),
    mean(final, 'MRR@10'),
    std(final, 'MRR@10'),
    mean(final, 'Recall@100'),
    std(final, 'Recall@100'),
    mean('bm25', 'Recall@10'),
    mean('bm25', 'MRR@10'),
    mean('bm25', 'Recall@100'),
    mean('hybrid', 'Recall@10'),
    mean('hybrid', 'Recall@100'),
  ];
  assert.deepEqual(
    quoted.slice(1, 12).map(Number),
    expected.map((v) => Number(v.toFixed(4))),
  );
  assert.equal(quoted[12], recordCommit(wordnet).slice(0, 7));
  assert.match(line, /`sci cluster up && sci pipeline run config\/pipelines\/wordnet\.yaml`/);
});
