/*
 * bench/encoder: training steps/s and encoding passages/s of the dual-tower
 * encoders on the chosen TensorFlow.js backend (wasm here) next to the same
 * models on the other CPU backend (pure-JS cpu), each in its own process, in
 * one run; plus a rough FLOP-bound estimate: FLOPs per step / per passage
 * (counted from the architecture) against the backend's best measured
 * matmul throughput. Batches are synthetic token ids of WordNet-like lengths
 * (queries 12 tokens, passages 24), so only compute is measured.
 *
 *   node dist/bench/encoder.js [--seconds S]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type * as Tf from '@tensorflow/tfjs';
import { loadTfBackend, type BackendName } from '../encoder/backend.js';
import { createDualEncoder, type Architecture } from '../encoder/model/index.js';
import { trainingLoss } from '../encoder/losses/composite.js';
import { AdamW } from '../encoder/training/adamw.js';
import { TrainConfigSchema } from '../encoder/training/config.js';
import { runPhase } from './proc.js';

const BATCH = 128;
const QUERY_TOKENS = 12;
const PASSAGE_TOKENS = 24;
const ENCODE_BATCH = 256;

const models: Record<string, Architecture> = {
  fast: { kind: 'fast', vocabSize: 8000, embeddingDim: 128, dim: 128, towers: 'separate', maxLength: 32, pooling: 'idf' },
  transformer: {
    kind: 'transformer',
    vocabSize: 8000,
    width: 128,
    layers: 2,
    heads: 4,
    ffnWidth: 256,
    dim: 128,
    towers: 'separate',
    maxLength: 32,
    pooling: 'idf',
  },
};

/** Forward FLOPs to encode `n` texts of `l` tokens (multiply-add = 2 FLOPs). */
function forwardFlops(a: Architecture, n: number, l: number): number {
  if (a.kind === 'fast') return n * (l * a.embeddingDim + 2 * a.embeddingDim * a.dim);
  const perTokenLayer = 8 * a.width * a.width + 4 * a.width * a.ffnWidth + 4 * l * a.width;
  return n * (l * a.layers * perTokenLayer + 2 * a.width * a.dim);
}

function parameterCount(a: Architecture): number {
  const perTower =
    a.kind === 'fast'
      ? a.vocabSize * a.embeddingDim + a.embeddingDim * a.dim + a.dim
      : a.vocabSize * a.width +
        a.maxLength * a.width +
        a.layers * (4 * a.width * a.width + 2 * a.width * a.ffnWidth + 9 * a.width + a.ffnWidth) +
        a.width * a.dim +
        a.dim +
        2 * a.width;
  return perTower * (a.towers === 'separate' ? 2 : 1);
}

/** One training step: forward + backward (≈ 2× forward) of both towers, the B×B loss, and AdamW over every parameter (~12 FLOPs each). */
function stepFlops(a: Architecture): number {
  const forward = forwardFlops(a, BATCH, QUERY_TOKENS) + forwardFlops(a, BATCH, PASSAGE_TOKENS) + 2 * BATCH * BATCH * a.dim;
  return 3 * forward + 12 * parameterCount(a);
}

interface PhaseResult {
  backend: string;
  model: string;
  stepsPerSecond: number;
  passagesPerSecond: number;
}

/**
 * Peak fp32 FLOP/s of one thread as each backend can use it, from the clock:
 * wasm SIMD has 4-lane vectors and no fused multiply-add (a multiply and an
 * add per lane per cycle, two vector ports); the cpu backend is scalar JS
 * (at best a multiply and an add per cycle). Rough by design: the bound a
 * step could reach if nothing but arithmetic cost time.
 */
function peakFlops(backend: 'wasm' | 'cpu'): { flops: number; ghz: number } {
  const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 2000);
  const ghz = mhz / 1000;
  return { flops: ghz * 1e9 * (backend === 'wasm' ? 4 * 2 : 2), ghz };
}

function randomIds(tf: typeof Tf, n: number, l: number, vocab: number, seed: number) {
  return [tf.randomUniform([n, l], 5, vocab, 'int32', seed) as Tf.Tensor2D, tf.ones([n, l], 'int32') as Tf.Tensor2D] as const;
}

async function phase(backendName: BackendName, modelName: string, seconds: number): Promise<PhaseResult> {
  const { tf, name } = await loadTfBackend(backendName);
  const architecture = models[modelName]!;
  const model = createDualEncoder(tf, architecture, 1);
  const config = TrainConfigSchema.parse({ data: { shards: '-' } });
  const optimizer = new AdamW(tf, model.weights, config.optimizer);
  const [qIds, qMask] = randomIds(tf, BATCH, QUERY_TOKENS, architecture.vocabSize, 1);
  const [dIds, dMask] = randomIds(tf, BATCH, PASSAGE_TOKENS, architecture.vocabSize, 2);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const e = {
        queryByQueryTower: model.encode(qIds, qMask, 'query'),
        positiveByItemTower: model.encode(dIds, dMask, 'item'),
        negativesByItemTower: null,
        queryByItemTower: null,
        positiveByQueryTower: null,
      };
      return trainingLoss(tf, e, config.objective).total;
    }, model.weights.variables);
    optimizer.apply(new Map(Object.entries(grads).map(([k, g]) => [model.weights.nameOf(k), g])), 1e-3);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const timed = (fn: () => void, minRuns: number) => {
    fn(); // warm-up (kernel compilation, allocations)
    let runs = 0;
    const started = performance.now();
    while (runs < minRuns || performance.now() - started < seconds * 1000) {
      fn();
      runs += 1;
    }
    return runs / ((performance.now() - started) / 1000);
  };
  const stepsPerSecond = timed(step, 2);
  const [eIds, eMask] = randomIds(tf, ENCODE_BATCH, PASSAGE_TOKENS, architecture.vocabSize, 3);
  const batchesPerSecond = timed(() => tf.tidy(() => model.encode(eIds, eMask, 'item').dataSync()), 2);
  return { backend: name, model: modelName, stepsPerSecond, passagesPerSecond: batchesPerSecond * ENCODE_BATCH };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, phase: { type: 'string' }, model: { type: 'string' } } });
  const seconds = Number(values.seconds);
  if (values.phase) {
    process.stdout.write(`${JSON.stringify(await phase(values.phase as BackendName, values.model!, seconds))}\n`);
    return;
  }
  const script = fileURLToPath(import.meta.url);
  console.log(
    `bench/encoder: batch ${BATCH} pairs (queries ${QUERY_TOKENS} tokens, passages ${PASSAGE_TOKENS}), InfoNCE, AdamW; encoding batches of ${ENCODE_BATCH}; one process per backend × model`,
  );
  console.log('model        backend  params   steps/s  bound  passages/s   bound  achieved GFLOP/s (train, encode)   vs cpu (steps, passages)');
  for (const modelName of Object.keys(models)) {
    const architecture = models[modelName]!;
    const results: Record<string, PhaseResult> = {};
    for (const backend of ['wasm', 'cpu'] as const)
      results[backend] = runPhase<PhaseResult>(script, [
        '--phase',
        backend,
        '--model',
        modelName,
        '--seconds',
        String(backend === 'cpu' ? Math.max(2, seconds / 2) : seconds),
      ]);
    for (const backend of ['wasm', 'cpu'] as const) {
      const r = results[backend]!;
      const peak = peakFlops(backend).flops;
      const perPassage = forwardFlops(architecture, 1, PASSAGE_TOKENS);
      const ratio =
        backend === 'wasm'
          ? `${(r.stepsPerSecond / results.cpu!.stepsPerSecond).toFixed(1)}×, ${(r.passagesPerSecond / results.cpu!.passagesPerSecond).toFixed(1)}×`
          : '1×';
      console.log(
        [
          modelName.padEnd(12),
          backend.padEnd(8),
          `${(parameterCount(architecture) / 1e6).toFixed(2)}M`.padStart(6),
          r.stepsPerSecond.toFixed(2).padStart(9),
          (peak / stepFlops(architecture)).toFixed(0).padStart(6),
          r.passagesPerSecond.toFixed(0).padStart(11),
          (peak / perPassage).toFixed(0).padStart(7),
          `${((r.stepsPerSecond * stepFlops(architecture)) / 1e9).toFixed(2)}, ${((r.passagesPerSecond * perPassage) / 1e9).toFixed(2)} of ${(peak / 1e9).toFixed(1)}`.padStart(
            33,
          ),
          `   ${ratio}`,
        ].join(' '),
      );
    }
  }
  console.log(
    `bound = FLOP-bound rate: one thread's peak (${peakFlops('wasm').ghz.toFixed(2)} GHz × 8 FLOP/cycle for wasm SIMD, × 2 for scalar JS) ÷ FLOPs per step (≈ 3× forward + 12 per parameter for AdamW) or per passage. wasm runs one thread under Node.`,
  );
}

await main();
