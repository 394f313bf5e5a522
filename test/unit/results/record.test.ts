import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PipelineConfigSchema,
  fingerprintOf,
  pipelineRecord,
  planPipeline,
  readPipelineRecord,
  renderPipelineMarkdown,
  renderRecordComparison,
  renderLeverTable,
  renderSeedCheck,
  resolvedPipelineConfig,
  type EvalResult,
  type PipelineState,
} from '../../../pipeline/index.js';
import { captureProvenance, configFingerprint, recordCommit, writeResultRecord, type ResultRecordError, type Provenance } from '../../../results/index.js';
import { intList } from '../../../cli/parse.js';
import { REPO_ROOT, tempDir } from '../../support/paths.js';

/*
 * Result records: which code and resolved config made a figure, refused where that cannot be said
 * truthfully (a seed unfinished, run with another config, mixed commits, a dirty tree), and the
 * README table rendered from the record's own numbers.
 */

const config = PipelineConfigSchema.parse({
  out: '/data/run',
  corpus: { passages: '/data/passages' },
  train: { model: { kind: 'fast', towers: 'shared', dim: 32, embeddingDim: 32 } },
  stages: { inBatch: { steps: 10 }, bm25: { steps: 10 }, dense: null },
});

const code = (commit: string, dirty = false): Provenance => ({ ...captureProvenance(), commit, dirty, describe: commit.slice(0, 7) });

function result(stage: string, split: string, steps: number | null, recall: number): EvalResult {
  return {
    stage,
    split,
    index: stage === 'bm25' ? 'bm25' : 'flat',
    indexSet: `/i/${stage}`,
    checkpoint: steps === null ? null : `/c/${stage}`,
    trainedSteps: steps,
    queries: 100,
    passages: 1000,
    metrics: { 'Recall@10': recall, 'MRR@10': recall / 2, 'nDCG@10': recall / 1.5, 'Recall@100': 0.9 },
    latency: { p50Ms: 1, p99Ms: 2 },
    fingerprint: 'f',
    measuredAt: '2026-01-01T00:00:00Z',
  };
}

/** A finished seed: every planned step done with this config's fingerprint, run by one driver. */
function finishedState(seed: number, recalls: [number, number], provenance = code('a'.repeat(40))): PipelineState {
  const plan = planPipeline(config, seed);
  return {
    format: 'sci-cluster/pipeline-state@1',
    seed,
    out: plan.seedDir,
    createdAt: '',
    updatedAt: '',
    finishedAt: '2026-01-01T01:00:00Z',
    totalSteps: plan.totalSteps,
    steps: plan.steps.map((step) => ({
      id: step.id,
      kind: step.kind,
      fingerprint: fingerprintOf(step),
      state: 'done' as const,
      startedAt: '',
      finishedAt: '',
      seconds: step.kind === 'train' ? 100 : 10,
      jobId: null,
      error: null,
      attempts: 1,
      reused: seed > 1 && step.id.startsWith('bm25'),
    })),
    results: [
      result('bm25', 'dev', null, 0.45),
      result('stage1', 'dev', 10, recalls[0]),
      result('stage2', 'dev', 20, recalls[1]),
      result('stage2', 'test', 20, recalls[1] - 0.01),
    ],
    best: { stage: 'stage2', checkpoint: '/c/stage2', indexSet: '/i/stage2', metric: 'Recall@10', value: recalls[1] },
    drivers: [{ provenance, configFingerprint: configFingerprint(resolvedPipelineConfig(config)) }],
  };
}

test('a config fingerprint ignores key order and undefined fields, and changes with any value', () => {
  assert.equal(configFingerprint({ a: 1, b: { c: [1, 2], d: 'x' } }), configFingerprint({ b: { d: 'x', c: [1, 2] }, a: 1, e: undefined }));
  assert.notEqual(configFingerprint({ a: 1, b: { c: [1, 2] } }), configFingerprint({ a: 1, b: { c: [2, 1] } }));
});

test("the resolved config fills in sci train's defaults, so a changed default changes the fingerprint", () => {
  const resolved = resolvedPipelineConfig(config) as { train: { tokenizer: { stem: boolean }; model: { dim: number } }; seed?: unknown; out?: unknown };
  assert.equal(resolved.train.model.dim, 32);
  assert.equal(typeof resolved.train.tokenizer.stem, 'boolean', 'the tokenizer default is spelled out');
  assert.equal(resolved.seed, undefined, 'the seed is listed beside the config, not in it');
  const flipped = PipelineConfigSchema.parse({ ...config, train: { ...config.train, tokenizer: { stem: !resolved.train.tokenizer.stem } } });
  assert.notEqual(configFingerprint(resolvedPipelineConfig(flipped)), configFingerprint(resolvedPipelineConfig(config)));
  assert.equal(configFingerprint(resolvedPipelineConfig({ ...config, seed: 9, out: '/elsewhere' })), configFingerprint(resolvedPipelineConfig(config)));
});

test("provenance names this checkout's commit, and whether tracked files changed", (t) => {
  const p = captureProvenance(REPO_ROOT);
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  assert.equal(p.commit, head);
  const changes = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  assert.equal(p.dirty, changes.length > 0);
  assert.ok(p.cores >= 1 && p.memoryGiB > 0 && p.node === process.version);
  const outside = tempDir(t);
  assert.equal(captureProvenance(outside).commit, null, 'no git checkout: commit unknown, not guessed');
});

test('a pipeline record: every seed, the summary over them, step times; written and read back', (t) => {
  const record = pipelineRecord({
    file: 'config/pipelines/toy.yaml',
    config,
    states: [finishedState(1, [0.4, 0.5]), finishedState(2, [0.42, 0.54])],
    command: 'sci pipeline run x',
  });
  assert.equal(record.name, 'toy');
  assert.deepEqual(record.seeds, [1, 2]);
  assert.equal(record.provenance.length, 1, 'one code for both seeds');
  assert.equal(recordCommit(record), 'a'.repeat(40));
  const stage1 = record.body.summary.rows.find((r) => r.stage === 'stage1' && r.split === 'dev')!;
  assert.ok(Math.abs(stage1.mean['Recall@10']! - 0.41) < 1e-12);
  // Shared BM25 work is timed once (seed 2 reused it).
  const bm25Steps = planPipeline(config, 1).steps.filter((s) => s.id.startsWith('bm25')).length;
  const perSeed = planPipeline(config, 1).steps.reduce((sum, s) => sum + (s.kind === 'train' ? 100 : 10), 0);
  assert.equal(record.wallSeconds, 2 * perSeed - bm25Steps * 10);

  const file = join(tempDir(t), 'docs', 'results', 'pipeline-toy.json');
  writeResultRecord(file, record);
  assert.deepEqual(readPipelineRecord(file), JSON.parse(readFileSync(file, 'utf8')));
  writeFileSync(file, JSON.stringify({ ...record, kind: 'grid' }));
  assert.throws(
    () => readPipelineRecord(file),
    (err: ResultRecordError) => err.code === 'RESULT_RECORD' && err.field === 'kind' && err.file === file,
  );
});

test('a record is refused for an unfinished seed, a seed run with another resolved config, or code it cannot name', () => {
  const unfinished = { ...finishedState(1, [0.4, 0.5]), finishedAt: null };
  assert.throws(() => pipelineRecord({ file: 'p.yaml', config, states: [unfinished], command: '' }), /seed 1 has not finished/);
  const other = finishedState(2, [0.4, 0.5]);
  other.drivers.push({ provenance: code('b'.repeat(40)), configFingerprint: '0123456789abcdef' });
  assert.throws(() => pipelineRecord({ file: 'p.yaml', config, states: [other], command: '' }), /seed 2 was run .* with resolved config 0123456789abcdef/);
  const legacy = { ...finishedState(3, [0.4, 0.5]), drivers: [] };
  assert.throws(() => pipelineRecord({ file: 'p.yaml', config, states: [legacy], command: '' }), /predates result records/);

  const mixed = pipelineRecord({
    file: 'p.yaml',
    config,
    states: [finishedState(1, [0.4, 0.5]), finishedState(2, [0.4, 0.5], code('c'.repeat(40)))],
    command: '',
  });
  assert.throws(() => recordCommit(mixed), /mixes code from 2 commits/);
  const dirty = pipelineRecord({ file: 'p.yaml', config, states: [finishedState(1, [0.4, 0.5], code('d'.repeat(40), true))], command: '' });
  assert.throws(() => recordCommit(dirty), /dirty tree/);
  assert.equal(recordCommit(dirty, { allowDirty: true }), 'd'.repeat(40));
});

test("the README table is the record's: mean ± std per trained row, the best of each column in bold; a seed check in stds", () => {
  const record = pipelineRecord({
    file: 'toy.yaml',
    config,
    states: [finishedState(1, [0.4, 0.5]), finishedState(2, [0.42, 0.54])],
    command: 'sci pipeline run toy.yaml --seed 1 --seeds 2',
  });
  const markdown = renderPipelineMarkdown(record);
  assert.match(markdown, /commit `aaaaaaaaaa`, seeds 1, 2/);
  assert.match(markdown, /\| BM25 \| - \| 0\.4500 \| 0\.2250 \|/);
  // stage 2 dev Recall@10: 0.5 and 0.54 → 0.5200 ± 0.0283, the column's best.
  assert.match(markdown, /\| stage 2 \(\+ BM25 negatives\) \| 20 \| \*\*0\.5200 ± 0\.0283\*\* \|/);
  assert.match(markdown, /seed 1 \d+\.\d min \(training 200 s/);

  const check = pipelineRecord({ file: 'toy.yaml', config, states: [finishedState(4, [0.41, 0.7])], command: '' });
  const table = renderSeedCheck(record, check, 'stage1');
  assert.match(table, /^Seeds 4 against seeds 1, 2 .*: 6 of 12 values \(every trained row, split and metric\) inside mean ± 3 std\.$/m);
  assert.match(table, /\| stage 1 \(in-batch\) \| dev \| Recall@10 \| 0\.4100 ± 0\.0141 \| 0\.4100 \(\+0\.0\) \|/, 'the final stage is shown whole');
  assert.match(table, /\| stage 2 \(\+ BM25 negatives\) \| dev \| Recall@10 \| 0\.5200 ± 0\.0283 \| 0\.7000 \(\+6\.4\) \*\*outside\*\* \|/);
  assert.doesNotMatch(table, /\| stage 2 \(\+ BM25 negatives\) \| dev \| Recall@100 \|/, 'other rows only where outside');
  const comparison = renderRecordComparison(
    [
      { label: 'A', record },
      { label: 'B', record: check },
    ],
    ['Recall@10'],
    ['dev'],
  );
  assert.match(comparison, /\| stage 2 \(\+ BM25 negatives\) \| 0\.5200 \| 0\.7000 \|/);
  assert.throws(() => renderSeedCheck(record, { ...check, configFingerprint: 'other' }, 'stage1'), /compares runs of one config/);

  // A lever table: one seed of each record, a row per configuration, the best of each column in bold.
  const levers = renderLeverTable(
    [
      { label: 'shipped', record, seed: 2 },
      { label: 'lever', record: check, seed: 4 },
    ],
    [
      { stage: 'stage1', metric: 'Recall@10' },
      { stage: 'stage2', metric: 'Recall@10' },
      { stage: 'stage3.r1', metric: 'Recall@10' },
    ],
    'dev',
  );
  assert.match(levers, /^\| configuration \(seed\) \| code \| dev Recall@10, stage 1 \(in-batch\) \| dev Recall@10, stage 2 \(\+ BM25 negatives\) \|/);
  assert.match(levers, /\| shipped \(2\) \| `aaaaaaaaaa` \| \*\*0\.4200\*\* \| 0\.5400 \| - \|/, 'seed 2 of the record, not its mean; a stage it lacks is -');
  assert.match(levers, /\| lever \(4\) \| `aaaaaaaaaa` \| 0\.4100 \| \*\*0\.7000\*\* \| - \|/);
  assert.throws(() => renderLeverTable([{ label: 'shipped', record, seed: 9 }], [{ stage: 'stage1', metric: 'Recall@10' }], 'dev'), /"shipped" has no seed 9/);
});

test('--seeds lists: 1,2,3 and 1-3 and mixes; bad ones named', () => {
  const parse = intList('--seeds');
  assert.deepEqual(parse('1-3'), [1, 2, 3]);
  assert.deepEqual(parse('4,5'), [4, 5]);
  assert.deepEqual(parse('1-3,5,2'), [1, 2, 3, 5]);
  assert.throws(() => parse('3-1'), /runs backwards/);
  assert.throws(() => parse('a'), /--seeds expects integers/);
});
