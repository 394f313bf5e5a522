import type * as Ort from 'onnxruntime-node';
import type { View } from '../model/index.js';
import type { WordPieceTokenizer } from '../tokenizer/index.js';
import { tokenizeBatch, type TextEncoder } from '../text-encoder.js';
import { EncoderEngineError } from '../errors.js';
import { onnxRuntimeVersion, openSession, type OpenedSession, type SessionOptions } from './runtime.js';

/*
 * A TextEncoder on ONNX Runtime: WordPiece ids (and mask, and zero token
 * types where the graph takes them) in, the graph's output pooled as
 * configured (masked mean, [CLS], or none when the graph pools itself),
 * optionally L2-normalised. A second graph may serve the query view (DPR's
 * question encoder, our separate towers).
 */

export interface OnnxRunConfig {
  pooling: 'mean' | 'cls' | 'none';
  normalize: boolean;
  maxLength: number;
  queryPrefix: string;
  itemPrefix: string;
  inputs: { ids: string; mask: string | null; typeIds: string | null };
  /** Output to read (null: the graph's first). */
  output: string | null;
  batchSize: number;
}

export interface OnnxModels {
  /** The passage (item) graph; also the query graph when `query` is absent. */
  item: string | Uint8Array;
  query?: string | Uint8Array | null;
}

export class OnnxTextEncoder implements TextEncoder {
  readonly towers: 'shared' | 'separate';
  readonly description: Record<string, string>;
  dim = 0;

  private constructor(
    private readonly item: OpenedSession,
    private readonly query: OpenedSession | null,
    private readonly tokenizer: WordPieceTokenizer,
    readonly config: OnnxRunConfig,
    description: Record<string, string>,
    threads: number,
  ) {
    this.towers = query ? 'separate' : 'shared';
    this.description = {
      ...description,
      'sci.encoder.engine': 'onnxruntime',
      'sci.encoder.engine.version': onnxRuntimeVersion(),
      'sci.encoder.provider': item.provider,
      'sci.encoder.threads': String(threads),
    };
  }

  static async open(
    models: OnnxModels,
    tokenizer: WordPieceTokenizer,
    config: OnnxRunConfig,
    description: Record<string, string>,
    options: SessionOptions = {},
  ): Promise<OnnxTextEncoder> {
    const item = await openSession(models.item, options);
    let query: OpenedSession | null = null;
    try {
      query = models.query ? await openSession(models.query, { ...options, provider: item.provider }) : null;
      const named = (model: string | Uint8Array) => (typeof model === 'string' ? model : undefined);
      checkSignature(item.session, config, named(models.item));
      if (query) checkSignature(query.session, config, named(models.query!));
      const encoder = new OnnxTextEncoder(item, query, tokenizer, config, description, options.threads ?? 1);
      encoder.dim = (await encoder.encodeBatch(['dimension probe'], 'item')).length;
      if (query) {
        const queryDim = (await encoder.encodeBatch(['dimension probe'], 'query')).length;
        if (queryDim !== encoder.dim)
          throw new EncoderEngineError(`the query graph gives ${queryDim}-d vectors, the item graph ${encoder.dim}-d: both views must share one space`, {
            file: named(models.query!),
          });
      }
      return encoder;
    } catch (err) {
      // A folder that cannot run must not hold native (or GPU) memory: a pool thread retries the next task.
      await Promise.allSettled([item.session.release(), query?.session.release()]);
      throw err;
    }
  }

  /** The execution provider the sessions run on. */
  get provider(): string {
    return this.item.provider;
  }

  async encode(texts: readonly string[], view: View): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    for (let from = 0; from < texts.length; from += this.config.batchSize) {
      out.set(await this.encodeBatch(texts.slice(from, from + this.config.batchSize), view), from * this.dim);
    }
    return out;
  }

  private async encodeBatch(texts: readonly string[], view: View): Promise<Float32Array> {
    const { session, ort } = view === 'query' && this.query ? this.query : this.item;
    const prefix = view === 'query' ? this.config.queryPrefix : this.config.itemPrefix;
    const { ids, mask, length } = tokenizeBatch(this.tokenizer, texts, this.config.maxLength, prefix);
    const n = texts.length;
    const dims = [n, length];
    const feeds: Record<string, Ort.Tensor> = {};
    const { inputs } = this.config;
    for (const name of session.inputNames) {
      if (name === inputs.ids) feeds[name] = new ort.Tensor('int64', toInt64(ids), dims);
      else if (name === inputs.mask) feeds[name] = new ort.Tensor('int64', toInt64(mask), dims);
      else if (name === inputs.typeIds) feeds[name] = new ort.Tensor('int64', new BigInt64Array(n * length), dims);
    }
    const outputName = this.config.output ?? session.outputNames[0]!;
    const results = await session.run(feeds, [outputName]);
    const output = results[outputName]!;
    if (output.type !== 'float32') {
      for (const tensor of Object.values(results)) tensor.dispose();
      throw new EncoderEngineError(`the model's output ${outputName} is ${output.type}: only float32 outputs are read (export the model in float32)`, {
        field: 'output',
      });
    }
    try {
      return this.poolAndNormalize(output.data as Float32Array, output.dims, mask, n, length);
    } finally {
      for (const tensor of Object.values(results)) tensor.dispose();
    }
  }

  private poolAndNormalize(data: Float32Array, dims: readonly number[], mask: Int32Array, n: number, length: number): Float32Array {
    let pooled: Float32Array;
    if (dims.length === 2) {
      pooled = Float32Array.from(data);
    } else if (dims.length === 3 && this.config.pooling !== 'none') {
      const hidden = dims[2]!;
      pooled = new Float32Array(n * hidden);
      for (let row = 0; row < n; row++) {
        const target = pooled.subarray(row * hidden, (row + 1) * hidden);
        if (this.config.pooling === 'cls') {
          target.set(data.subarray(row * length * hidden, row * length * hidden + hidden));
          continue;
        }
        let count = 0;
        for (let t = 0; t < length; t++) {
          if (mask[row * length + t] === 0) continue;
          count += 1;
          const from = (row * length + t) * hidden;
          for (let j = 0; j < hidden; j++) target[j]! += data[from + j]!;
        }
        const scale = 1 / Math.max(count, 1e-6);
        for (let j = 0; j < hidden; j++) target[j]! *= scale;
      }
    } else {
      throw new EncoderEngineError(
        `the model's output has shape [${dims.join(', ')}] and pooling is ${this.config.pooling}: expected [batch, dim], or [batch, tokens, dim] with mean or cls pooling`,
      );
    }
    if (this.config.normalize) {
      const dim = pooled.length / n;
      for (let row = 0; row < n; row++) {
        const v = pooled.subarray(row * dim, (row + 1) * dim);
        let sum = 0;
        for (let j = 0; j < dim; j++) sum += v[j]! * v[j]!;
        const scale = 1 / Math.max(Math.sqrt(sum), 1e-12);
        for (let j = 0; j < dim; j++) v[j]! *= scale;
      }
    }
    return pooled;
  }

  dispose(): void {
    // Release failures leave nothing to do but not crash the process (an unhandled rejection would).
    void Promise.allSettled([this.item.session.release(), this.query?.session.release()]);
  }
}

function toInt64(values: Int32Array): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!);
  return out;
}

/** Every graph input must be one we can feed, and the output must exist: said once at load, not per batch. */
function checkSignature(session: Ort.InferenceSession, config: OnnxRunConfig, file: string | undefined): void {
  const known = [config.inputs.ids, config.inputs.mask, config.inputs.typeIds].filter((n): n is string => n !== null);
  for (const name of session.inputNames) {
    if (!known.includes(name))
      throw new EncoderEngineError(
        `the ONNX graph takes an input ${name}, which is none of the configured inputs (${known.join(', ')}); set inputs in sci-encoder.json`,
        { file, field: 'inputs' },
      );
  }
  if (!session.inputNames.includes(config.inputs.ids))
    throw new EncoderEngineError(`the ONNX graph has no token-id input ${config.inputs.ids} (its inputs: ${session.inputNames.join(', ')})`, {
      file,
      field: 'inputs.ids',
    });
  if (config.output !== null && !session.outputNames.includes(config.output))
    throw new EncoderEngineError(`the ONNX graph has no output ${config.output} (its outputs: ${session.outputNames.join(', ')})`, { file, field: 'output' });
}
