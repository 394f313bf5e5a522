import { loadTfBackend } from '../encoder/backend.js';
import { saveCheckpoint } from '../encoder/checkpoint.js';
import { createDualEncoder, type Architecture } from '../encoder/model/index.js';
import { SPECIAL_TOKENS, WordPieceTokenizer } from '../encoder/tokenizer/index.js';

/** A MiniLM-shaped tower (6 layers × 384, 12 heads, FFN 1,536) in our transformer architecture, 128 tokens. */
export function miniLmShape(vocabSize: number): Architecture {
  return { kind: 'transformer', vocabSize, width: 384, layers: 6, heads: 12, ffnWidth: 1536, dim: 384, towers: 'shared', maxLength: 128, pooling: 'mean' };
}

/**
 * A checkpoint of `architecture` with seeded random weights (step 0), for benches that measure
 * compute, not quality. Without a tokenizer the vocabulary is synthetic pieces of the model's size.
 */
export async function saveSyntheticCheckpoint(dir: string, architecture: Architecture, tokenizer?: WordPieceTokenizer): Promise<void> {
  const { tf, name, package: pkg, threads } = await loadTfBackend('wasm');
  const vocabulary =
    tokenizer ?? new WordPieceTokenizer([...SPECIAL_TOKENS, ...Array.from({ length: architecture.vocabSize - SPECIAL_TOKENS.length }, (_, i) => `piece${i}`)]);
  const model = createDualEncoder(tf, architecture, 1);
  saveCheckpoint(dir, {
    architecture,
    seed: 1,
    model,
    tokenizer: vocabulary,
    lowercase: true,
    backend: { name, package: pkg, threads },
    training: null,
    step: 0,
    devMetrics: null,
  });
  model.dispose();
}
