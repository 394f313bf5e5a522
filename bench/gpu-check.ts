/*
 * The GPU path, proven where a GPU is (scripts/gpu-check.sh runs this):
 * WordNet passages encoded by a MiniLM-shaped tower (6 × 384, our
 * transformer architecture with seeded weights, BERT's vocabulary size) on
 * ONNX Runtime's CUDA execution provider, then a sample of them again on the
 * CPU provider: passages/s on the GPU and the largest difference of the
 * vectors. Prints one JSON line last.
 *
 *   node dist/bench/gpu-check.js [--passages 100000] [--batch 256]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readCheckpointTensors } from '../encoder/checkpoint.js';
import { checkpointGraphs, exportedRunConfig, OnnxTextEncoder } from '../encoder/onnx/index.js';
import { VocabBuilder, WordPieceTokenizer } from '../encoder/tokenizer/index.js';
import { miniLmShape, saveSyntheticCheckpoint } from './synthetic-checkpoint.js';
import { wordnetGlosses } from './wordnet.js';

const { values } = parseArgs({
  options: { passages: { type: 'string', default: '100000' }, batch: { type: 'string', default: '256' }, sample: { type: 'string', default: '2048' } },
});
const wanted = Number(values.passages);

// WordNet glosses (117k synsets), repeated where more passages are asked for.
const glosses = wordnetGlosses();
const passages = Array.from({ length: wanted }, (_, i) => glosses[i % glosses.length]!);

const builder = new VocabBuilder({ stem: false });
for (const text of glosses) builder.addText(text);
const tokenizer = new WordPieceTokenizer(builder.build({ size: 30_522 }));
const architecture = miniLmShape(tokenizer.size);
const dir = mkdtempSync(join(tmpdir(), 'sci-gpu-check-'));
try {
  await saveSyntheticCheckpoint(dir, architecture, tokenizer);
  const checkpoint = readCheckpointTensors(dir);
  const graphs = checkpointGraphs(checkpoint);
  const config = exportedRunConfig(checkpoint.card, Number(values.batch));
  const description = { 'sci.encoder': 'gpu-check:MiniLM-shape' };
  const gpu = await OnnxTextEncoder.open(graphs, tokenizer, config, description, { provider: 'cuda', threads: 1 });
  process.stderr.write(`encoding ${wanted} WordNet passages on ${gpu.provider} (MiniLM shape 6 × 384, batch ${values.batch}) …\n`);
  await gpu.encode(passages.slice(0, Number(values.batch)), 'item'); // warm-up: kernels, memory arenas
  const started = performance.now();
  const onGpu = await gpu.encode(passages, 'item');
  const seconds = (performance.now() - started) / 1000;
  const sample = Number(values.sample);
  const cpu = await OnnxTextEncoder.open(graphs, tokenizer, config, description, { provider: 'cpu', threads: 2 });
  const onCpu = await cpu.encode(passages.slice(0, sample), 'item');
  let maxDiff = 0;
  for (let i = 0; i < onCpu.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onCpu[i]! - onGpu[i]!));
  gpu.dispose();
  cpu.dispose();
  const result = { provider: gpu.provider, passages: wanted, seconds, passagesPerSecond: wanted / seconds, comparedWithCpu: sample, maxDiff };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
