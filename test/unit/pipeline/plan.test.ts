import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { JobSpecSchema } from '../../../jobs/index.js';
import { fingerprintOf, planPipeline, PipelineConfigSchema, trainConfigOf, type PipelineStep } from '../../../pipeline/index.js';

const config = PipelineConfigSchema.parse({
  out: '/data/run',
  corpus: { passages: '/data/passages' },
  train: { model: { kind: 'fast', towers: 'shared' }, optimizer: { lr: 0.004 } },
  stages: {
    inBatch: { steps: 100 },
    bm25: { steps: 50, negativesPerQuery: 2, mine: { k: 30 } },
    dense: { rounds: 2, steps: 40, index: { factory: 'HNSW32,Flat', efSearch: 128 }, mine: { k: 50 }, bm25Weight: 0.5 },
  },
});

const byId = (steps: PipelineStep[], id: string) => {
  const step = steps.find((s) => s.id === id);
  assert.ok(step, `no step ${id}`);
  return step;
};

test('the plan: stage 1, BM25 mining and stage 2, then each round mines from the previous checkpoint’s index', () => {
  const plan = planPipeline(config, 7);
  assert.equal(plan.seedDir, '/data/run/seed-7');
  assert.equal(plan.totalSteps, 100 + 50 + 2 * 40);
  assert.deepEqual(
    plan.steps.map((s) => s.id),
    [
      'bm25.index',
      'bm25.eval',
      'hashed.encode',
      'hashed.index',
      'hashed.eval',
      'stage1.train',
      'stage1.encode',
      'stage1.index',
      'stage1.eval',
      'stage2.mine',
      'stage2.train',
      'stage2.encode',
      'stage2.index',
      'stage2.eval',
      'stage3.r1.mine',
      'stage3.r1.train',
      'stage3.r1.encode',
      'stage3.r1.index',
      'stage3.r1.eval',
      'stage3.r2.mine',
      'stage3.r2.train',
      'stage3.r2.encode',
      'stage3.r2.index',
      'stage3.r2.eval',
      'hybrid.eval',
      'bm25.eval.test',
      'hashed.eval.test',
      'stage1.eval.test',
      'stage2.eval.test',
      'stage3.r1.eval.test',
      'stage3.r2.eval.test',
      'hybrid.eval.test',
    ],
  );
  // The fused row reads the rankings the final stage and BM25 keep, on each split.
  const kept = plan.steps.flatMap((s) => (s.kind === 'eval' && s.target.saveRun ? [s.id] : []));
  assert.deepEqual(kept, ['bm25.eval', 'stage3.r2.eval', 'bm25.eval.test', 'stage3.r2.eval.test']);
  const hybrid = byId(plan.steps, 'hybrid.eval.test');
  if (hybrid.kind !== 'eval') throw new Error('not an eval step');
  assert.deepEqual(hybrid.target.fuse, [
    { runDir: '/data/run/seed-7/stage3.r2', weight: 1 },
    { runDir: '/data/run/bm25', weight: 1 },
  ]);
  assert.equal(hybrid.target.checkpoint, '/data/run/seed-7/stage3.r2/train/last');
  assert.equal(hybrid.target.trainedSteps, 230);
  assert.throws(
    () => planPipeline(PipelineConfigSchema.parse({ ...config, eval: { baselines: { bm25: false } } })),
    (err: Error & { field?: string }) => err.field === 'eval.hybrid' && /needs eval\.baselines\.bm25/.test(err.message),
  );
  assert.ok(!planPipeline(PipelineConfigSchema.parse({ ...config, eval: { hybrid: false } })).steps.some((s) => s.id.startsWith('hybrid')));
  // Every job step is a valid job spec.
  for (const step of plan.steps) if (step.kind === 'job') JobSpecSchema.parse(step.spec);

  const round2 = byId(plan.steps, 'stage3.r2.mine');
  assert.equal(round2.kind, 'job');
  if (round2.kind !== 'job' || round2.spec.kind !== 'mine') throw new Error('not a mine job');
  assert.equal(round2.spec.input, '/data/run/seed-7/stage3.r1/indexes', 'mined with the latest checkpoint’s index');
  assert.deepEqual(round2.spec.source, { kind: 'dense', index: 'mine', efSearch: 128 });
  assert.deepEqual(round2.spec.checkpoint, { id: '/data/run/seed-7/stage3.r1/train/last', step: 190 });
  assert.equal(round2.spec.stage, 'stage3.r2');
  assert.equal(round2.shared, undefined, 'a seed’s dense mining is its own');
  assert.equal((byId(plan.steps, 'stage2.mine') as { shared?: boolean }).shared, true, 'BM25 negatives are the same for every seed');

  const index = byId(plan.steps, 'stage3.r1.index');
  if (index.kind !== 'job' || index.spec.kind !== 'index') throw new Error('not an index job');
  assert.deepEqual(
    index.spec.indexes?.map((i) => [i.name, i.factory]),
    [
      ['flat', 'Flat'],
      ['mine', 'HNSW32,Flat'],
    ],
    'Flat for the exact evaluation, the configured index for mining',
  );

  const train = byId(plan.steps, 'stage3.r2.train');
  if (train.kind !== 'train') throw new Error('not a training step');
  assert.deepEqual(train.segment, {
    stage: 'stage3.r2',
    outDir: '/data/run/seed-7/stage3.r2/train',
    steps: 230,
    continueFrom: '/data/run/seed-7/stage3.r1/train/last',
    negativesFrom: [
      { path: '/data/run/seed-7/stage3.r2/negatives', weight: 1 },
      { path: '/data/run/bm25/negatives', weight: 0.5 },
    ],
    negativesPerQuery: 1,
  });
  const trainConfig = trainConfigOf(train.segment, plan, config);
  assert.equal(trainConfig.steps, 230);
  assert.equal(trainConfig.seed, 7);
  assert.equal(trainConfig.optimizer.totalSteps, 230, 'one learning-rate schedule over every segment');
  assert.equal(trainConfig.optimizer.lr, 0.004, 'the shared training config is kept');
  assert.equal(trainConfig.data.shards, '/data/passages');

  const evalTest = byId(plan.steps, 'stage2.eval.test');
  if (evalTest.kind !== 'eval') throw new Error('not an eval step');
  assert.equal(evalTest.target.split, 'test');
  assert.equal(evalTest.target.resultFile, join('/data/run/seed-7/stage2', 'eval-test.json'));
});

test('fingerprints follow the definition: another seed or setting changes a trained step, not the shared BM25 index', () => {
  const a = planPipeline(config, 1);
  const b = planPipeline(config, 2);
  const fp = (plan: typeof a, id: string) => fingerprintOf(byId(plan.steps, id));
  assert.equal(fp(a, 'bm25.index'), fp(b, 'bm25.index'));
  assert.equal(fp(a, 'stage2.mine'), fp(b, 'stage2.mine'));
  assert.notEqual(fp(a, 'stage1.train'), fp(b, 'stage1.train'));
  const more = planPipeline(PipelineConfigSchema.parse({ ...config, stages: { ...config.stages, inBatch: { steps: 101 } } }), 1);
  assert.notEqual(fp(a, 'stage1.train'), fp(more, 'stage1.train'));
});

test('config errors name the field', () => {
  const result = PipelineConfigSchema.safeParse({
    out: '/x',
    corpus: { passages: '/p' },
    stages: { inBatch: { steps: 0 }, bm25: { steps: 1 }, dense: { rounds: 1, steps: 1 } },
  });
  assert.equal(result.success, false);
  assert.deepEqual(result.error!.issues[0]!.path, ['stages', 'inBatch', 'steps']);
});
