import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { loadCheckpoint, MODEL_CARD_FILE } from './checkpoint.js';
import { isExternalModelDir, loadExternalEncoder } from './external-model.js';
import { ModelTextEncoder, type TextEncoder } from './text-encoder.js';
import { CheckpointError } from './errors.js';

/** A sci-cluster checkpoint (model-card.json) or an external TensorFlow.js model (model.json) as a TextEncoder. */
export async function openTextEncoder(tf: typeof Tf, dir: string, options: { batchSize?: number } = {}): Promise<TextEncoder> {
  if (existsSync(join(dir, MODEL_CARD_FILE))) {
    const { card, model, tokenizer } = loadCheckpoint(tf, dir);
    return new ModelTextEncoder(
      tf,
      model,
      tokenizer,
      { 'sci.encoder': `checkpoint:${card.architecture.kind}`, 'sci.encoder.weights': card.weights.sha256, 'sci.encoder.step': String(card.step) },
      options.batchSize ?? 256,
    );
  }
  if (isExternalModelDir(dir)) return loadExternalEncoder(tf, dir);
  throw new CheckpointError(`${dir} is neither a sci-cluster checkpoint (${MODEL_CARD_FILE}) nor a TensorFlow.js model folder (model.json)`, { file: dir });
}
