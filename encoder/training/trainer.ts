import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { type Logger, mixSeed, seededRandom } from '../../common/index.js';
import { loadTfBackend, type TfBackend } from '../backend.js';
import { assignWeights, loadCheckpoint, packTensors, saveCheckpoint, unpackTensors } from '../checkpoint.js';
import { exportCheckpoint, isOnnxModelDir, readExportedWeights } from '../onnx/index.js';
import { trainingLoss } from '../losses/composite.js';
import { createDualEncoder, type Architecture, type DualEncoderModel } from '../model/index.js';
import { VocabBuilder, WordPieceTokenizer } from '../tokenizer/index.js';
import { ModelTextEncoder, tokenizeBatch } from '../text-encoder.js';
import { AdamW, learningRate } from './adamw.js';
import { BatchSchedule } from './batches.js';
import type { TrainConfig } from './config.js';
import { TrainingDataError } from '../errors.js';
import { emptyNegatives, loadTrainingData, type NegativeSource, type TrainingData } from './data.js';
import { buildDevPool, evaluateEncoder, type DevMetrics } from './evaluate.js';
import { hashedBaselineEncoder } from './baseline.js';
import { pieceIdf } from './piece-idf.js';
import { CheckpointError } from '../errors.js';

/*
 * `sci train`: the training loop. Output folder:
 *   last/             checkpoint at the latest evaluation, with optimizer.bin and
 *                     trainer-state.json: what --resume continues from
 *   best/             checkpoint with the best dev metric so far
 *   train-log.jsonl   one JSON line per step (loss parts, lr, gradient norm, ms)
 *                     and per evaluation
 *   result.json       the final summary (also what --json prints)
 * Reproducible: the weights come from the seed, batch s is a pure function of
 * (seed, s), hard negatives are drawn from (seed, s); a resumed run takes the
 * same steps as an uninterrupted one.
 */

export interface TrainOptions {
  config: TrainConfig;
  outDir: string;
  logger: Logger;
  resume?: boolean;
  /**
   * Continue another run's `last/` checkpoint: its weights, tokenizer,
   * optimizer moments and step (the next segment of a pipeline). Training
   * goes on to `config.steps`, counted from that run's step. `resume` wins
   * when this run has its own `last/`.
   */
  continueFrom?: string;
  /** Also evaluate the hashed TF-IDF baseline on the same dev pool. */
  baseline?: boolean;
  /** Extra negatives (mined by a later stage); merged with the source's. */
  negatives?: NegativeSource;
  /** Opens `config.data.negativesFrom` once the training data is loaded (the mining module does: see mine/training-negatives.ts). */
  openNegativesFrom?: (data: TrainingData) => NegativeSource;
  onStep?: (step: number, total: number, fields: Record<string, number>) => void;
  /** Checked between steps; training stops after writing the last checkpoint. */
  signal?: AbortSignal;
}

export interface TrainResult {
  outDir: string;
  bestCheckpoint: string;
  /** The best checkpoint exported to ONNX (out/onnx). */
  onnxExport: string;
  lastCheckpoint: string;
  metric: string;
  bestStep: number;
  best: DevMetrics;
  final: DevMetrics;
  untrained: DevMetrics | null;
  baseline: DevMetrics | null;
  /** The best checkpoint (and the baseline, when asked) on eval.testSplit, same pool construction. */
  test: { split: string; best: DevMetrics; baseline: DevMetrics | null } | null;
  steps: number;
  trainSeconds: number;
  stepsPerSecond: number;
  backend: { name: string; package: string; threads: number };
  trainPairs: number;
  devQueries: number;
  poolSize: number;
  resumedFrom: number | null;
}

interface TrainerState {
  step: number;
  adamSteps: number;
  optimizer: ReturnType<typeof packTensors>['specs'];
  bestStep: number;
  best: DevMetrics | null;
  untrained: DevMetrics | null;
  baseline: DevMetrics | null;
  trainSeconds: number;
}

const STATE_FILE = 'trainer-state.json';
const OPTIMIZER_FILE = 'optimizer.bin';

function architectureOf(config: TrainConfig, vocabSize: number): Architecture {
  return { ...config.model, vocabSize } as Architecture;
}

async function buildTokenizer(config: TrainConfig, data: TrainingData, logger: Logger): Promise<WordPieceTokenizer> {
  const options = { lowercase: config.tokenizer.lowercase, stem: config.tokenizer.stem };
  if (config.tokenizer.vocab) return WordPieceTokenizer.fromVocabFile(config.tokenizer.vocab, options);
  const started = performance.now();
  const builder = new VocabBuilder(options);
  // Passages and training queries only: dev queries stay unseen.
  for (const text of data.corpus.texts) builder.addText(text);
  for (const pair of data.pairs) builder.addText(pair.query);
  const tokens = builder.build({ size: config.tokenizer.size });
  logger.info({ pieces: tokens.length, ms: Math.round(performance.now() - started) }, 'WordPiece vocabulary learned');
  return new WordPieceTokenizer(tokens, options);
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { config, outDir, logger } = options;
  const backend = await loadTfBackend(config.backend, logger);
  const tf = backend.tf;
  mkdirSync(outDir, { recursive: true });
  const lastDir = join(outDir, 'last');
  const bestDir = join(outDir, 'best');
  const logFile = join(outDir, 'train-log.jsonl');

  const data = await loadTrainingData(config.data.shards, {
    trainSplit: config.data.trainSplit,
    devSplit: config.data.devSplit,
    corpusSample: config.data.corpusSample,
    seed: config.seed,
  });
  logger.info(
    { passages: data.corpus.texts.length, trainPairs: data.pairs.length, devQueries: data.dev.ids.length, sourceNegatives: data.sourceNegatives.name },
    'training data loaded',
  );

  let model: DualEncoderModel;
  let tokenizer: WordPieceTokenizer;
  // Where the weights, optimizer moments and step come from: this run's own last/ (resume) or another run's (continue).
  const resuming = options.resume === true && existsSync(join(lastDir, STATE_FILE));
  const fromDir = resuming ? lastDir : (options.continueFrom ?? null);
  let state: TrainerState | null = null;
  if (fromDir) {
    const stateFile = join(fromDir, STATE_FILE);
    if (!existsSync(stateFile)) throw new CheckpointError(`cannot continue: no ${STATE_FILE} (a last/ checkpoint of sci train has one)`, { file: fromDir });
    const loaded = loadCheckpoint(tf, fromDir);
    model = loaded.model;
    tokenizer = loaded.tokenizer;
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as TrainerState;
    if (state.step >= config.steps)
      throw new CheckpointError(`nothing to train: ${fromDir} is at step ${state.step} and steps is ${config.steps}`, { field: 'steps' });
    logger.info({ step: state.step, from: fromDir }, resuming ? 'resuming training' : 'continuing training with its optimizer state');
  } else if (config.initFrom && isOnnxModelDir(config.initFrom)) {
    // Our own ONNX export: the towers are rebuilt from its graphs' initializers (anything else is refused there).
    const exported = readExportedWeights(config.initFrom);
    model = createDualEncoder(tf, exported.architecture, config.seed);
    try {
      assignWeights(tf, model, exported.tensors, exported.file);
    } catch (err) {
      model.dispose();
      throw err;
    }
    tokenizer = exported.tokenizer;
    logger.info({ from: config.initFrom, architecture: exported.architecture.kind }, 'starting from an ONNX export');
  } else if (config.initFrom) {
    const loaded = loadCheckpoint(tf, config.initFrom);
    model = loaded.model;
    tokenizer = loaded.tokenizer;
    logger.info({ from: config.initFrom, architecture: loaded.card.architecture.kind }, 'starting from a checkpoint');
  } else {
    tokenizer = await buildTokenizer(config, data, logger);
    model = createDualEncoder(tf, architectureOf(config, tokenizer.size), config.seed);
    if (model.architecture.pooling === 'idf') {
      const idf = tf.tensor1d(pieceIdf(tokenizer, data.corpus.texts));
      model.weights.get('idf').assign(idf);
      idf.dispose();
    }
  }
  const architecture = model.architecture;
  if (architecture.towers === 'shared' && config.objective.symmAligner)
    logger.warn('SymmAligner with shared towers: swapping inputs changes nothing (SCI needs separate towers)');
  const optimizer = new AdamW(tf, model.weights, config.optimizer);
  if (state && fromDir)
    optimizer.loadState(unpackTensors(readFileSync(join(fromDir, OPTIMIZER_FILE)), state.optimizer, join(fromDir, OPTIMIZER_FILE)), state.adamSteps);
  // A continued run keeps the step and the optimizer, and starts its own log, best checkpoint and timing.
  if (state && !resuming) state = { ...state, bestStep: 0, best: null, untrained: null, baseline: null, trainSeconds: 0 };

  const pool = buildDevPool(data.dev, data.corpus, {
    queries: config.eval.queries,
    poolSize: config.eval.poolSize,
    sample: config.eval.sample,
    seed: config.seed,
  });
  const view = new ModelTextEncoder(tf, model, tokenizer, { 'sci.encoder': architecture.kind }, 256);
  const evaluate = async (step: number): Promise<DevMetrics> => {
    const metrics = await evaluateEncoder(view, data.corpus, pool);
    appendFileSync(logFile, `${JSON.stringify({ type: 'eval', step, ...metrics })}\n`);
    logger.info({ step, ...pick(metrics, config.eval.metric) }, 'dev evaluation');
    return metrics;
  };

  const startStep = state?.step ?? 0;
  if (resuming) truncateLog(logFile, startStep);
  else writeFileSync(logFile, '');
  let untrained = state?.untrained ?? null;
  let baseline = state?.baseline ?? null;
  if (!state) {
    untrained = await evaluate(0);
    if (options.baseline) {
      const encoder = hashedBaselineEncoder(data.corpus.texts, { dim: architecture.dim });
      baseline = await evaluateEncoder(encoder, data.corpus, pool);
      appendFileSync(logFile, `${JSON.stringify({ type: 'baseline', encoder: 'hashed-tfidf', ...baseline })}\n`);
      logger.info(pick(baseline, config.eval.metric), 'hashed TF-IDF baseline on the same dev pool');
    }
  }
  let best = state?.best ?? null;
  let bestStep = state?.bestStep ?? 0;
  let trainSeconds = state?.trainSeconds ?? 0;
  let final: DevMetrics = best ?? untrained!;

  let extra = options.negatives;
  if (config.data.negativesFrom.length > 0) {
    if (!options.openNegativesFrom)
      throw new TrainingDataError('data.negativesFrom is set but this caller cannot open mined negatives', { field: 'data.negativesFrom' });
    if (config.data.negativesPerQuery === 0)
      throw new TrainingDataError('data.negativesFrom needs data.negativesPerQuery > 0', { field: 'data.negativesPerQuery' });
    const mined = options.openNegativesFrom(data);
    logger.info({ source: mined.name }, 'mined negatives');
    extra = combineNegatives(mined, extra);
  }
  const negatives = combineNegatives(data.sourceNegatives, extra);
  const schedule = new BatchSchedule(data.pairs, config.batchSize, config.seed);
  const card = (metrics: DevMetrics | null, step: number) => ({
    architecture,
    seed: config.seed,
    model,
    tokenizer,
    lowercase: config.tokenizer.lowercase,
    backend: describe(backend),
    training: config,
    step,
    devMetrics: metrics,
  });

  let step = startStep;
  try {
    while (step < config.steps) {
      const stepStarted = performance.now();
      const { pairs } = schedule.batchAt(step);
      const lr = learningRate(config.optimizer, step, config.optimizer.totalSteps ?? config.steps);
      const { loss, parts, gradNorm } = trainStep(tf, model, optimizer, tokenizer, data, negatives, pairs, config, step, lr);
      step += 1;
      const ms = performance.now() - stepStarted;
      trainSeconds += ms / 1000;
      appendFileSync(logFile, `${JSON.stringify({ type: 'step', step, lr, loss, ...parts, gradNorm, ms: Math.round(ms) })}\n`);
      options.onStep?.(step, config.steps, { loss: round(loss), lr });
      const stopping = options.signal?.aborted === true;
      if (step % config.eval.every === 0 || step === config.steps || stopping) {
        final = await evaluate(step);
        const value = final[config.eval.metric]!;
        if (!best || value > best[config.eval.metric]!) {
          best = final;
          bestStep = step;
          saveCheckpoint(bestDir, card(final, step));
        }
        const adam = packTensors(optimizer.stateTensors());
        const trainerState: TrainerState = { step, adamSteps: optimizer.t, optimizer: adam.specs, bestStep, best, untrained, baseline, trainSeconds };
        saveCheckpoint(lastDir, { ...card(final, step), extraFiles: { [OPTIMIZER_FILE]: adam.bytes, [STATE_FILE]: JSON.stringify(trainerState, null, 2) } });
        if (stopping) break;
      }
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  if (!existsSync(bestDir)) throw new CheckpointError('no checkpoint was written', { file: outDir });
  let test: TrainResult['test'] = null;
  if (config.eval.testSplit) {
    const testPool = buildDevPool(data.querySet(config.eval.testSplit), data.corpus, {
      queries: config.eval.queries,
      poolSize: config.eval.poolSize,
      sample: config.eval.sample,
      seed: config.seed,
    });
    const loaded = loadCheckpoint(tf, bestDir);
    const bestOnTest = await evaluateEncoder(new ModelTextEncoder(tf, loaded.model, loaded.tokenizer, {}, 256), data.corpus, testPool);
    loaded.model.dispose();
    const baselineOnTest = options.baseline
      ? await evaluateEncoder(hashedBaselineEncoder(data.corpus.texts, { dim: architecture.dim }), data.corpus, testPool)
      : null;
    test = { split: config.eval.testSplit, best: bestOnTest, baseline: baselineOnTest };
    appendFileSync(logFile, `${JSON.stringify({ type: 'test', split: config.eval.testSplit, step: bestStep, best: bestOnTest, baseline: baselineOnTest })}\n`);
    logger.info({ split: config.eval.testSplit, ...pick(bestOnTest, config.eval.metric) }, 'best checkpoint on the held-out split');
  }
  // The best checkpoint as ONNX graphs beside it: encode jobs and the API load either folder.
  const onnxDir = join(outDir, 'onnx');
  exportCheckpoint(bestDir, onnxDir);
  logger.info({ from: bestDir, to: onnxDir }, 'best checkpoint exported to ONNX');
  const result: TrainResult = {
    outDir,
    bestCheckpoint: bestDir,
    onnxExport: onnxDir,
    lastCheckpoint: lastDir,
    metric: config.eval.metric,
    bestStep,
    best: best ?? final,
    final,
    untrained,
    baseline,
    test,
    steps: step,
    trainSeconds,
    stepsPerSecond: step === 0 ? 0 : step / Math.max(1e-9, trainSeconds),
    backend: describe(backend),
    trainPairs: data.pairs.length,
    devQueries: pool.queries.ids.length,
    poolSize: pool.passages.length,
    resumedFrom: resuming ? startStep : null,
  };
  writeFileSync(join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

function trainStep(
  tf: typeof Tf,
  model: DualEncoderModel,
  optimizer: AdamW,
  tokenizer: WordPieceTokenizer,
  data: TrainingData,
  negatives: NegativeSource,
  pairIndexes: readonly number[],
  config: TrainConfig,
  step: number,
  lr: number,
): { loss: number; parts: Record<string, number>; gradNorm: number } {
  const maxLength = model.architecture.maxLength;
  const batchPairs = pairIndexes.map((i) => data.pairs[i]!);
  const tensors = (texts: string[]) => {
    const t = tokenizeBatch(tokenizer, texts, maxLength);
    return [tf.tensor2d(t.ids, [texts.length, t.length], 'int32'), tf.tensor2d(t.mask, [texts.length, t.length], 'int32')] as const;
  };
  const negativeTexts = drawNegatives(data, negatives, batchPairs, config, step);
  const aligner = config.objective.symmAligner;
  const symm = aligner !== null && aligner.lambda > 0 && step >= aligner.startStep;
  const objective = symm ? config.objective : { ...config.objective, symmAligner: null };
  const parts: Record<string, number> = {};
  const [qIds, qMask] = tensors(batchPairs.map((p) => p.query));
  const [dIds, dMask] = tensors(batchPairs.map((p) => data.corpus.texts[p.positive]!));
  const negativeInputs = negativeTexts.length > 0 ? tensors(negativeTexts) : null;
  const { value, grads } = tf.variableGrads(() => {
    const e = {
      queryByQueryTower: model.encode(qIds, qMask, 'query'),
      positiveByItemTower: model.encode(dIds, dMask, 'item'),
      negativesByItemTower: negativeInputs ? model.encode(negativeInputs[0], negativeInputs[1], 'item') : null,
      queryByItemTower: symm ? model.encode(qIds, qMask, 'item') : null,
      positiveByQueryTower: symm ? model.encode(dIds, dMask, 'query') : null,
    };
    const { total, parts: tensorsByPart } = trainingLoss(tf, e, objective);
    for (const [name, t] of Object.entries(tensorsByPart)) parts[name] = t.dataSync()[0]!;
    return total;
  }, model.weights.variables);
  const byName = new Map(Object.entries(grads).map(([variableName, g]) => [model.weights.nameOf(variableName), g]));
  const gradNorm = optimizer.apply(byName, lr);
  const loss = value.dataSync()[0]!;
  tf.dispose([value, ...Object.values(grads), qIds, qMask, dIds, dMask, ...(negativeInputs ?? [])]);
  if (!Number.isFinite(loss)) throw new RangeError(`training diverged at step ${step + 1}: loss ${loss} (lower optimizer.lr or raise objective.temperature)`);
  return { loss, parts, gradNorm };
}

/** `negativesPerQuery` texts per pair: from the query's hard negatives, else random passages; never a batch positive. */
function drawNegatives(
  data: TrainingData,
  source: NegativeSource,
  pairs: readonly TrainingData['pairs'][number][],
  config: TrainConfig,
  step: number,
): string[] {
  const n = config.data.negativesPerQuery;
  if (n === 0) return [];
  const random = seededRandom(mixSeed(config.seed, step, 0x4e6));
  const positives = new Set(pairs.map((p) => p.positive));
  const out: string[] = [];
  for (const pair of pairs) {
    const pool = source.negativesOf(pair.queryId).filter((p) => !positives.has(p));
    for (let j = 0; j < n; j++) {
      let pick: number;
      const picked = pool.length > 0 && source.pick ? drawOwn(source, pair.queryId, random, positives) : null;
      if (picked !== null) pick = picked;
      else if (pool.length > 0) pick = pool[Math.floor(random() * pool.length)]!;
      else
        do pick = Math.floor(random() * data.corpus.texts.length);
        while (positives.has(pick));
      out.push(data.corpus.texts[pick]!);
    }
  }
  return out;
}

/** The source's own draw, skipping batch positives (a few tries; null falls back to a uniform draw). */
function drawOwn(source: NegativeSource, queryId: string, random: () => number, positives: ReadonlySet<number>): number | null {
  for (let attempt = 0; attempt < 8; attempt++) {
    const p = source.pick!(queryId, random);
    if (p === null) return null;
    if (!positives.has(p)) return p;
  }
  return null;
}

function combineNegatives(a: NegativeSource, b: NegativeSource | undefined): NegativeSource {
  if (!b) return a;
  if (a.negativesOf === emptyNegatives.negativesOf) return b;
  return { name: `${a.name}+${b.name}`, negativesOf: (q) => [...a.negativesOf(q), ...b.negativesOf(q)] };
}

function describe(backend: TfBackend) {
  return { name: backend.name, package: backend.package, threads: backend.threads };
}

function pick(metrics: DevMetrics, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of [metric, 'Recall@10', 'MRR@10', 'positiveCosine', 'crossTowerGap']) out[name] = round(metrics[name]!);
  return out;
}

const round = (x: number) => Math.round(x * 10000) / 10000;

/** Keeps the log lines up to `step` (a resumed run rewrites what came after its checkpoint). */
function truncateLog(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '' && ((JSON.parse(line) as { step?: number }).step ?? 0) <= step);
  writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
}
