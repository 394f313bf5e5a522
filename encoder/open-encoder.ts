import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../common/index.js';
import { loadTfBackend } from './backend.js';
import { loadCheckpoint, MODEL_CARD_FILE } from './checkpoint.js';
import { isExternalModelDir, loadExternalEncoder } from './external-model.js';
import { hasNvidiaDevice, isOnnxModelDir, loadOnnxRuntime, openCheckpointOnOnnx, openOnnxFolder, type ProviderPreference } from './onnx/index.js';
import { ModelTextEncoder, type TextEncoder } from './text-encoder.js';
import { CheckpointError, EncoderEngineError } from './errors.js';

/*
 * One entry for every model folder an encode task, the query encoder or the
 * mine job is given, on the engine asked for:
 *
 *   folder                                onnx            tfjs
 *   sci-cluster checkpoint (model-card)   graphs built    the training model
 *   ONNX export (model.onnx)              yes             no
 *   TensorFlow.js model (model.json)      no              yes
 *
 * 'auto' takes ONNX Runtime where it loads and the folder allows, else tfjs,
 * and says why in the log.
 */

export type EnginePreference = 'auto' | 'onnx' | 'tfjs';

export interface OpenEncoderOptions {
  engine?: EnginePreference;
  /** ONNX Runtime intra-op threads (tfjs-wasm is single-threaded under Node). @defaultValue 1 */
  threads?: number;
  provider?: ProviderPreference;
  batchSize?: number;
  logger?: Logger;
}

/** The engine settings a process passes down to where encoders are opened (config workers.encoder). */
export type EncoderSettings = Pick<OpenEncoderOptions, 'engine' | 'threads' | 'provider'>;

/**
 * The engine a checkpoint will run on with these settings, for a process to announce before it opens
 * one. The provider is the one it will try first; a CUDA provider that fails to start falls back to
 * the CPU, which the opening thread logs and every embedding file records.
 */
export function plannedEngine(settings: EncoderSettings = {}): { engine: 'onnxruntime' | 'tfjs'; provider: string | null; threads: number } {
  const threads = settings.threads ?? 1;
  if (settings.engine === 'tfjs') return { engine: 'tfjs', provider: null, threads: 1 };
  try {
    loadOnnxRuntime();
  } catch {
    // engine onnx without the runtime: tasks fail saying why; the announcement must not claim tfjs.
    return settings.engine === 'onnx' ? { engine: 'onnxruntime', provider: 'unavailable', threads } : { engine: 'tfjs', provider: null, threads: 1 };
  }
  const provider = settings.provider === 'cpu' || settings.provider === 'cuda' ? settings.provider : hasNvidiaDevice() ? 'cuda' : 'cpu';
  return { engine: 'onnxruntime', provider, threads };
}

export async function openTextEncoder(dir: string, options: OpenEncoderOptions = {}): Promise<TextEncoder> {
  const engine = options.engine ?? 'auto';
  const kind = existsSync(join(dir, MODEL_CARD_FILE)) ? 'checkpoint' : isOnnxModelDir(dir) ? 'onnx' : isExternalModelDir(dir) ? 'tfjs' : null;
  if (kind === null)
    throw new CheckpointError(
      `${dir} is neither a sci-cluster checkpoint (${MODEL_CARD_FILE}), an ONNX model folder (model.onnx) nor a TensorFlow.js model folder (model.json)`,
      { file: dir },
    );
  if (kind === 'onnx' && engine === 'tfjs') throw new EncoderEngineError(`${dir} is an ONNX model: it runs on the onnx engine only`, { file: dir });
  if (kind === 'tfjs' && engine === 'onnx') throw new EncoderEngineError(`${dir} is a TensorFlow.js model: it runs on the tfjs engine only`, { file: dir });

  let useOnnx = kind === 'onnx' || (kind === 'checkpoint' && engine !== 'tfjs');
  if (useOnnx && engine === 'auto' && kind === 'checkpoint') {
    try {
      loadOnnxRuntime();
    } catch (err) {
      options.logger?.warn({ reason: (err as Error).message }, 'ONNX Runtime unavailable, encoding on tfjs');
      useOnnx = false;
    }
  }
  const sessionOptions = { threads: options.threads ?? 1, provider: options.provider ?? 'auto', logger: options.logger, batchSize: options.batchSize };
  const encoder = await (async (): Promise<TextEncoder> => {
    if (useOnnx) return kind === 'onnx' ? openOnnxFolder(dir, sessionOptions) : openCheckpointOnOnnx(dir, sessionOptions);
    const backend = await loadTfBackend('auto', options.logger);
    if (kind === 'tfjs') return loadExternalEncoder(backend.tf, dir);
    const { card, model, tokenizer } = loadCheckpoint(backend.tf, dir);
    return new ModelTextEncoder(
      backend.tf,
      model,
      tokenizer,
      {
        'sci.encoder': `checkpoint:${card.architecture.kind}`,
        'sci.encoder.weights': card.weights.sha256,
        'sci.encoder.step': String(card.step),
        'sci.encoder.engine': `tfjs-${backend.name}`,
      },
      options.batchSize ?? 256,
    );
  })();
  options.logger?.info(
    {
      model: dir,
      engine: encoder.description['sci.encoder.engine'],
      provider: encoder.description['sci.encoder.provider'] ?? null,
      threads: sessionOptions.threads,
    },
    'encoder opened',
  );
  return encoder;
}
