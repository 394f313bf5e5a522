import type * as Tf from '@tensorflow/tfjs';
import type { DualEncoderModel, View } from './model/index.js';
import type { WordPieceTokenizer } from './tokenizer/index.js';

/** Texts in, L2-normalised vectors out (row-major n × dim), through either view; async because ONNX Runtime's run is. */
export interface TextEncoder {
  readonly dim: number;
  /** 'separate': f_q and f_i differ; 'shared': both views give the same vector. */
  readonly towers: 'shared' | 'separate';
  /** What produced the vectors, for embedding-file metadata and reports. */
  readonly description: Record<string, string>;
  encode(texts: readonly string[], view: View): Promise<Float32Array>;
  dispose(): void;
}

/** Token ids and mask of a batch, padded to its longest text (not to maxLength: padding costs compute). */
export function tokenizeBatch(
  tokenizer: WordPieceTokenizer,
  texts: readonly string[],
  maxLength: number,
  prefix = '',
): { ids: Int32Array; mask: Int32Array; length: number } {
  const encoded = texts.map((t) => tokenizer.encode(prefix + t, maxLength));
  const length = Math.max(2, ...encoded.map((e) => e.length));
  const ids = new Int32Array(texts.length * length).fill(tokenizer.pad);
  const mask = new Int32Array(texts.length * length);
  encoded.forEach((e, i) => {
    ids.set(e.ids.subarray(0, length), i * length);
    mask.set(e.mask.subarray(0, length), i * length);
  });
  return { ids, mask, length };
}

/** A sci-cluster dual encoder (trained or not) with its tokenizer. */
export class ModelTextEncoder implements TextEncoder {
  readonly dim: number;
  readonly towers: 'shared' | 'separate';

  constructor(
    private readonly tf: typeof Tf,
    readonly model: DualEncoderModel,
    readonly tokenizer: WordPieceTokenizer,
    readonly description: Record<string, string>,
    private readonly batchSize = 256,
  ) {
    this.dim = model.architecture.dim;
    this.towers = model.architecture.towers;
  }

  async encode(texts: readonly string[], view: View): Promise<Float32Array> {
    const tf = this.tf;
    const dim = this.dim;
    const out = new Float32Array(texts.length * dim);
    for (let from = 0; from < texts.length; from += this.batchSize) {
      const batch = texts.slice(from, from + this.batchSize);
      const { ids, mask, length } = tokenizeBatch(this.tokenizer, batch, this.model.architecture.maxLength);
      const vectors = tf.tidy(
        () =>
          this.model
            .encode(tf.tensor2d(ids, [batch.length, length], 'int32'), tf.tensor2d(mask, [batch.length, length], 'int32'), view)
            .dataSync() as Float32Array,
      );
      out.set(vectors, from * dim);
    }
    return out;
  }

  dispose(): void {
    this.model.dispose();
  }
}
