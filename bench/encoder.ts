/*
 * bench/encoder, in one run, every measurement in a process of its own:
 *
 * 1. Inference engines (the README's table, docs/encoder/report.json with
 *    --write): passages/s at batch 256 × 128 tokens for our transformer
 *    tower, a BERT-mini shape (4 × 256) and a MiniLM shape (6 × 384), on
 *    tfjs-wasm, ONNX Runtime CPU at 1 and 2 threads, and PyTorch CPU
 *    (python3-torch, inference_mode) at 1 and 2 threads: the same weights in
 *    every column (one checkpoint; ORT runs its exported graph, PyTorch
 *    rebuilds the tower from weights.bin), the vectors compared.
 * 2. The demo's encode job (WordNet, sci train's default model: fast, 256-d,
 *    IDF pooling; 2 pool threads): wall time on tfjs and on ONNX Runtime.
 * 3. Training steps/s and encoding passages/s on tfjs wasm against the
 *    pure-JS cpu backend, with a FLOP-bound estimate (training stays on tfjs).
 *
 *   node dist/bench/encoder.js [--seconds S] [--part engines|demo|training] [--write]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type * as Tf from '@tensorflow/tfjs';
import { loadTfBackend, type BackendName } from '../encoder/backend.js';
import { loadCheckpoint, readCheckpointTensors } from '../encoder/checkpoint.js';
import { checkpointGraphs, openSession } from '../encoder/onnx/index.js';
import { SPECIAL_TOKENS, VocabBuilder, WordPieceTokenizer } from '../encoder/tokenizer/index.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { miniLmShape, saveSyntheticCheckpoint } from './synthetic-checkpoint.js';
import { ingestWordnet, wordnetGlosses } from './wordnet.js';
import { renderEncoderMarkdown, type EncoderReport, type EngineRow } from './encoder-report.js';
import { SYSTEM_PYTHON } from './python-faiss.js';
import { REPO } from './repo.js';
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

async function trainingPart(seconds: number): Promise<void> {
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

// ---- 1. Inference engines on the same weights ----

const ENGINE_BATCH = 256;
const ENGINE_TOKENS = 128;
/** BERT's vocabulary size: the embedding tables are the real models' size. */
const ENGINE_VOCAB = 30_522;
const TFJS_CHUNK = 16;

const engineModels: Record<string, Architecture> = {
  'sci transformer 2×128': {
    kind: 'transformer',
    vocabSize: ENGINE_VOCAB,
    width: 128,
    layers: 2,
    heads: 4,
    ffnWidth: 256,
    dim: 128,
    towers: 'shared',
    maxLength: 128,
    pooling: 'mean',
  },
  'BERT-mini 4×256': {
    kind: 'transformer',
    vocabSize: ENGINE_VOCAB,
    width: 256,
    layers: 4,
    heads: 4,
    ffnWidth: 1024,
    dim: 256,
    towers: 'shared',
    maxLength: 128,
    pooling: 'mean',
  },
  'MiniLM 6×384': miniLmShape(ENGINE_VOCAB),
};

interface EnginePhaseResult {
  passagesPerSecond: number;
  /** The first 4 rows' vectors, to compare engines on the same weights. */
  firstRows: number[];
}

/** Passages/s of `run` (one batch, already warmed up): at least one timed batch, until `seconds` have passed. */
async function timeBatches(run: () => Promise<unknown>, seconds: number): Promise<number> {
  let runs = 0;
  const started = performance.now();
  while (runs < 1 || performance.now() - started < seconds * 1000) {
    await run();
    runs += 1;
  }
  return (runs * ENGINE_BATCH) / ((performance.now() - started) / 1000);
}

/** The first 4 rows of `vectors` (`dim` wide), compared across engines. */
const firstRows = (vectors: Float32Array, dim: number) => Array.from(vectors.subarray(0, 4 * dim));

async function enginePhase(engine: 'tfjs' | 'ort', checkpoint: string, idsFile: string, threads: number, seconds: number): Promise<EnginePhaseResult> {
  const bytes = readFileSync(idsFile);
  const ids = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const mask = new Int32Array(ids.length).fill(1);
  if (engine === 'tfjs') {
    const { tf } = await loadTfBackend('wasm');
    const { model } = loadCheckpoint(tf, checkpoint);
    const encodeRows = (from: number, rows: number) =>
      tf.tidy(
        () =>
          model
            .encode(
              tf.tensor2d(ids.subarray(from * ENGINE_TOKENS, (from + rows) * ENGINE_TOKENS), [rows, ENGINE_TOKENS], 'int32'),
              tf.tensor2d(mask.subarray(from * ENGINE_TOKENS, (from + rows) * ENGINE_TOKENS), [rows, ENGINE_TOKENS], 'int32'),
              'item',
            )
            .dataSync() as Float32Array,
      );
    // tfjs-wasm's heap cannot hold a 256 × 128-token batch of the larger shapes ("memory access out of bounds"):
    // the batch runs as forward passes of TFJS_CHUNK rows (already matrix-bound sizes).
    const batch = async () => {
      const out = new Float32Array(ENGINE_BATCH * model.architecture.dim);
      for (let from = 0; from < ENGINE_BATCH; from += TFJS_CHUNK) out.set(encodeRows(from, TFJS_CHUNK), from * model.architecture.dim);
      return out;
    };
    // Warm up (kernels, allocations) on 8 rows, then time whole batches.
    const small = encodeRows(0, 8);
    return { passagesPerSecond: await timeBatches(batch, seconds), firstRows: firstRows(small, model.architecture.dim) };
  }
  const graphs = checkpointGraphs(readCheckpointTensors(checkpoint));
  const { session, ort } = await openSession(graphs.item, { threads, provider: 'cpu' });
  const feeds = {
    input_ids: new ort.Tensor(
      'int64',
      BigInt64Array.from(ids, (v) => BigInt(v)),
      [ENGINE_BATCH, ENGINE_TOKENS],
    ),
    attention_mask: new ort.Tensor(
      'int64',
      BigInt64Array.from(mask, (v) => BigInt(v)),
      [ENGINE_BATCH, ENGINE_TOKENS],
    ),
  };
  const run = async () => (await session.run(feeds)).sentence_embedding!.data as Float32Array;
  const first = await run(); // warm-up
  return { passagesPerSecond: await timeBatches(run, seconds), firstRows: firstRows(first, first.length / ENGINE_BATCH) };
}

function torchAvailable(): string | null {
  const probe = spawnSync(SYSTEM_PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
  return probe.status === 0 ? probe.stdout.trim() : null;
}

function torchPhase(checkpoint: string, idsFile: string, threads: number, seconds: number): EnginePhaseResult {
  const script = join(REPO, 'bench', 'python', 'encoder_torch.py');
  const out = execFileSync(SYSTEM_PYTHON, [script, checkpoint, idsFile, String(ENGINE_BATCH), String(ENGINE_TOKENS), String(threads), String(seconds)], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as EnginePhaseResult;
}

async function enginesPart(seconds: number, work: string): Promise<EngineRow[]> {
  const script = fileURLToPath(import.meta.url);
  const torchVersion = torchAvailable();
  if (!torchVersion) console.log(`bench/encoder: no PyTorch at ${SYSTEM_PYTHON} (apt-get install python3-torch): its columns are skipped`);
  console.log(`bench/encoder engines: batch ${ENGINE_BATCH} × ${ENGINE_TOKENS} tokens, the same weights in every column`);
  const rows: EngineRow[] = [];
  for (const [modelName, architecture] of Object.entries(engineModels)) {
    const dir = join(work, modelName.replace(/\W+/g, '-'));
    await saveSyntheticCheckpoint(dir, architecture);
    const idsFile = join(dir, 'ids.i32');
    let state = 12345;
    const ids = Int32Array.from({ length: ENGINE_BATCH * ENGINE_TOKENS }, () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return SPECIAL_TOKENS.length + (state % (architecture.vocabSize - SPECIAL_TOKENS.length));
    });
    writeFileSync(idsFile, ids);
    const phase = (engine: 'tfjs' | 'ort', threads: number) =>
      runPhase<EnginePhaseResult>(script, [
        '--engine-phase',
        engine,
        '--checkpoint',
        dir,
        '--ids',
        idsFile,
        '--threads',
        String(threads),
        '--seconds',
        String(seconds),
      ]);
    const ort1 = phase('ort', 1);
    const measured: Array<[string, number, EnginePhaseResult]> = [
      ['tfjs-wasm', 1, phase('tfjs', 1)],
      ['onnxruntime', 1, ort1],
      ['onnxruntime', 2, phase('ort', 2)],
    ];
    if (torchVersion) for (const threads of [1, 2]) measured.push([`pytorch ${torchVersion}`, threads, torchPhase(dir, idsFile, threads, seconds)]);
    for (const [engine, threads, result] of measured) {
      const maxDiff = Math.max(...result.firstRows.map((v, i) => Math.abs(v - ort1.firstRows[i]!)));
      rows.push({ model: modelName, engine, threads, passagesPerSecond: result.passagesPerSecond, maxDiffVsOnnx: maxDiff });
      console.log(
        `${modelName.padEnd(22)} ${engine.padEnd(22)} ${String(threads).padStart(2)} thread(s) ${result.passagesPerSecond.toFixed(1).padStart(10)} passages/s   max |Δ| vs ORT ${maxDiff.toExponential(1)}`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---- 2. The demo's encode job on each engine ----

async function demoPart(work: string): Promise<EncoderReport['demoJob']> {
  const passages = join(work, 'passages');
  await ingestWordnet(passages, 4);
  // sci train's defaults (the demo trains with them): fast, shared towers, 256-d, IDF pooling, a stemmed 8,000-piece vocabulary.
  const builder = new VocabBuilder({ stem: true });
  for (const gloss of wordnetGlosses()) builder.addText(gloss);
  const tokenizer = new WordPieceTokenizer(builder.build({ size: 8000 }), { stem: true });
  const architecture: Architecture = { kind: 'fast', vocabSize: tokenizer.size, embeddingDim: 256, dim: 256, towers: 'shared', maxLength: 32, pooling: 'idf' };
  const checkpoint = join(work, 'checkpoint');
  await saveSyntheticCheckpoint(checkpoint, architecture, tokenizer);
  const storage = new FsStorage('/');
  const seconds: Record<string, number> = {};
  const vectors: Record<string, Float32Array> = {};
  let rows = 0;
  for (const engine of ['tfjs', 'onnx'] as const) {
    const output = join(work, `embeddings-${engine}`);
    const started = performance.now();
    await runJobLocally({ kind: 'encode', input: passages, output, encoder: { kind: 'model', path: checkpoint } }, storage, {
      threads: 2,
      encoder: { engine },
    });
    seconds[engine] = (performance.now() - started) / 1000;
    const manifest = JSON.parse(readFileSync(join(output, 'manifest.json'), 'utf8')) as { rowsWritten: number; shards: Array<{ path: string }> };
    rows = manifest.rowsWritten;
    vectors[engine] = readArrowVectors(join(output, manifest.shards[0]!.path), 'embedding').data;
    console.log(`demo encode job on ${engine}: ${rows} passages in ${seconds[engine]!.toFixed(1)} s`);
  }
  const maxDiff = vectors.tfjs!.reduce((m, v, i) => Math.max(m, Math.abs(v - vectors.onnx![i]!)), 0);
  return { passages: rows, tfjsSeconds: seconds.tfjs!, onnxSeconds: seconds.onnx!, poolThreads: 2, maxDiff };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '8' },
      phase: { type: 'string' },
      model: { type: 'string' },
      'engine-phase': { type: 'string' },
      checkpoint: { type: 'string' },
      ids: { type: 'string' },
      threads: { type: 'string', default: '1' },
      part: { type: 'string', multiple: true },
      write: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  if (values.phase) {
    process.stdout.write(`${JSON.stringify(await phase(values.phase as BackendName, values.model!, seconds))}\n`);
    return;
  }
  if (values['engine-phase']) {
    const result = await enginePhase(values['engine-phase'] as 'tfjs' | 'ort', values.checkpoint!, values.ids!, Number(values.threads), seconds);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const parts = values.part ?? ['engines', 'demo', 'training'];
  const work = mkdtempSync(join(tmpdir(), 'sci-bench-encoder-'));
  try {
    const engines = parts.includes('engines') ? await enginesPart(seconds, work) : [];
    const demoJob = parts.includes('demo') ? await demoPart(work) : null;
    if (parts.includes('training')) await trainingPart(seconds);
    if (engines.length > 0 && demoJob) {
      const report: EncoderReport = {
        commit: execFileSync('git', ['describe', '--always', '--dirty'], { cwd: REPO, encoding: 'utf8' }).trim(),
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
        batch: ENGINE_BATCH,
        tokens: ENGINE_TOKENS,
        engines,
        demoJob,
      };
      const markdown = renderEncoderMarkdown(report);
      console.log(`\n${markdown}`);
      if (values.write) {
        mkdirSync(join(REPO, 'docs', 'encoder'), { recursive: true });
        writeFileSync(join(REPO, 'docs', 'encoder', 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
        console.log('wrote docs/encoder/report.json (paste the block above into the README between the encoder-report markers)');
      }
    }
  } finally {
    if (values.keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

await main();
