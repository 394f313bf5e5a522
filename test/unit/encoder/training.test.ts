import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { BeirIngester, runIngest } from '../../../shards/index.js';
import { TrainConfigSchema, train, epochBatches, learningRate, type TrainConfigInput } from '../../../encoder/training/index.js';
import { TEST_INGEST } from '../../support/shards.js';

/*
 * A corpus the untrained model cannot solve by word overlap: passages say
 * "<colour> <animal>", queries use other words for both ("crimson hound").
 * Training pairs cover most combinations; the dev queries ask for unseen
 * combinations of the same words, so only a learned mapping finds them.
 */
const colours = ['red', 'blue', 'green', 'yellow', 'black', 'white', 'orange', 'purple'];
const colourWords = ['crimson', 'azure', 'emerald', 'golden', 'ebony', 'ivory', 'amber', 'violet'];
const animals = ['dog', 'cat', 'horse', 'bird', 'fish', 'sheep', 'goat', 'mouse'];
const animalWords = ['hound', 'feline', 'stallion', 'sparrow', 'trout', 'lamb', 'billy', 'rodent'];

async function synonymCorpus(dir: string): Promise<string> {
  const beir = join(dir, 'beir');
  mkdirSync(join(beir, 'qrels'), { recursive: true });
  const docs: string[] = [];
  const queries: string[] = [];
  const qrels: Record<string, string[]> = { train: ['query-id\tcorpus-id\tscore'], dev: ['query-id\tcorpus-id\tscore'] };
  colours.forEach((c, i) =>
    animals.forEach((a, j) => {
      const id = `d${i}${j}`;
      docs.push(JSON.stringify({ _id: id, title: '', text: `${c} ${a}` }));
      queries.push(JSON.stringify({ _id: `q${i}${j}`, text: `${colourWords[i]} ${animalWords[j]}` }));
      qrels[(i + j) % 4 === 0 ? 'dev' : 'train']!.push(`q${i}${j}\t${id}\t1`);
    }),
  );
  writeFileSync(join(beir, 'corpus.jsonl'), `${docs.join('\n')}\n`);
  writeFileSync(join(beir, 'queries.jsonl'), `${queries.join('\n')}\n`);
  for (const [split, rows] of Object.entries(qrels)) writeFileSync(join(beir, 'qrels', `${split}.tsv`), `${rows.join('\n')}\n`);
  const out = join(dir, 'shards');
  await runIngest({ ingester: new BeirIngester(beir), format: 'beir', input: beir, outDir: out, layout: { shardCount: 2 }, ...TEST_INGEST });
  return out;
}

const silent = pino({ level: 'silent' });

function config(shards: string, overrides: Partial<TrainConfigInput> = {}) {
  return TrainConfigSchema.parse({
    data: { shards },
    model: { kind: 'fast', dim: 16, embeddingDim: 16, towers: 'separate', maxLength: 8 },
    tokenizer: { size: 64 },
    optimizer: { lr: 0.05, warmupSteps: 5 },
    objective: { temperature: 0.1 },
    steps: 80,
    batchSize: 8,
    eval: { every: 40, poolSize: 0 },
    ...overrides,
  });
}

test('training learns what word overlap cannot: dev recall rises far above the untrained model', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-train-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const shards = await synonymCorpus(dir);
  const result = await train({ config: config(shards), outDir: join(dir, 'run'), logger: silent, baseline: true });
  assert.equal(result.devQueries, 16);
  assert.equal(result.poolSize, 64);
  assert.ok(result.untrained!['Recall@10']! < 0.5, `untrained Recall@10 ${result.untrained!['Recall@10']}`);
  assert.ok(result.baseline!['Recall@10']! < 0.5, `baseline Recall@10 ${result.baseline!['Recall@10']} (no shared words)`);
  assert.ok(result.best['Recall@10']! >= 0.8, `trained Recall@10 ${result.best['Recall@10']}`);
  assert.ok(result.best.positiveCosine! > result.untrained!.positiveCosine!);
  const log = readFileSync(join(dir, 'run', 'train-log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step?: number; loss?: number });
  const steps = log.filter((l) => l.type === 'step');
  assert.equal(steps.length, 80);
  assert.ok(steps.at(-1)!.loss! < steps[0]!.loss!, 'the loss goes down');
  assert.deepEqual(
    log.filter((l) => l.type === 'eval').map((l) => l.step),
    [0, 40, 80],
  );
  const card = JSON.parse(readFileSync(join(result.bestCheckpoint, 'model-card.json'), 'utf8')) as {
    step: number;
    devMetrics: Record<string, number>;
    training: { seed: number };
  };
  assert.equal(card.devMetrics['Recall@10'], result.best['Recall@10']);
  assert.equal(card.training.seed, 1);

  // --init-from: a new run starts where the checkpoint was (its step-0 evaluation is the checkpoint's).
  const continued = await train({
    config: config(shards, { initFrom: result.bestCheckpoint, steps: 4, eval: { every: 4, poolSize: 0 } }),
    outDir: join(dir, 'continued'),
    logger: silent,
  });
  assert.equal(continued.untrained!['Recall@10'], result.best['Recall@10']);
  assert.equal(continued.untrained!.positiveCosine, result.best.positiveCosine);
});

test('a run stopped and resumed ends with exactly the weights of an uninterrupted run', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-resume-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const shards = await synonymCorpus(dir);
  const cfg = config(shards, {
    steps: 12,
    eval: { every: 4, poolSize: 0 },
    data: { shards, negativesPerQuery: 1 },
    objective: { temperature: 0.1, distanceWeight: 0.6, symmAligner: { variant: 'A', lambda: 1 } },
  });
  await train({ config: cfg, outDir: join(dir, 'straight'), logger: silent });
  const stop = new AbortController();
  const first = await train({ config: cfg, outDir: join(dir, 'resumed'), logger: silent, signal: stop.signal, onStep: (step) => step === 6 && stop.abort() });
  assert.equal(first.steps, 6, 'stopped after the step it was asked to');
  const second = await train({ config: cfg, outDir: join(dir, 'resumed'), logger: silent, resume: true });
  assert.equal(second.resumedFrom, 6);
  assert.equal(second.steps, 12);
  for (const file of ['weights.bin', 'optimizer.bin']) {
    assert.ok(readFileSync(join(dir, 'straight', 'last', file)).equals(readFileSync(join(dir, 'resumed', 'last', file))), `${file} differs`);
  }
  const stepsLogged = readFileSync(join(dir, 'resumed', 'train-log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; step: number })
    .filter((l) => l.type === 'step')
    .map((l) => l.step);
  assert.deepEqual(
    stepsLogged,
    Array.from({ length: 12 }, (_, i) => i + 1),
    'each step logged once',
  );
});

test('batches: a pure function of (seed, epoch), no positive twice in a batch', () => {
  const pairs = Array.from({ length: 40 }, (_, i) => ({ queryId: `q${i}`, query: '', positive: i % 10 }));
  const a = epochBatches(pairs, 8, 3, 0);
  assert.deepEqual(a, epochBatches(pairs, 8, 3, 0));
  assert.notDeepEqual(a, epochBatches(pairs, 8, 3, 1));
  assert.ok(a.length >= 4);
  for (const batch of a) {
    assert.equal(batch.length, 8);
    assert.equal(new Set(batch.map((i) => pairs[i]!.positive)).size, 8);
  }
  assert.equal(new Set(a.flat()).size, a.length * 8, 'no pair twice in an epoch');
});

test('learning-rate schedules and uniformity', () => {
  const opt = TrainConfigSchema.shape.optimizer.parse({ lr: 1, warmupSteps: 4 });
  assert.deepEqual(
    [0, 1, 3].map((s) => learningRate(opt, s, 14)),
    [0.25, 0.5, 1],
  );
  assert.equal(learningRate(opt, 9, 14), 0.5);
  assert.equal(learningRate({ ...opt, schedule: 'cosine' }, 9, 14), 0.5);
  assert.equal(learningRate({ ...opt, schedule: 'constant' }, 13, 14), 1);
});
