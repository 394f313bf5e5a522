import type * as Tf from '@tensorflow/tfjs';
import type { Architecture, View } from './architecture.js';
import { towerOf, type DualEncoderModel } from './dual-encoder.js';
import { embeddingLookup } from './embedding-lookup.js';
import { dense, gelu, l2Normalize, layerNorm, pool } from './layers.js';
import { WeightSet } from './weights.js';

/*
 * A small transformer encoder per tower: token + learned position embeddings,
 * `layers` pre-LayerNorm blocks (multi-head self-attention over real tokens,
 * GELU feed-forward), a final LayerNorm, masked mean pooling, a dense
 * projection to `dim`, L2 normalisation. Pre-LN because it trains from
 * scratch without a long warm-up. Separate towers start as identical copies.
 */

export type TransformerArchitecture = Extract<Architecture, { kind: 'transformer' }>;

/** Added to attention logits of padding keys: exp() of it is 0 in float32. */
const MASKED = -1e9;

export class TransformerDualEncoder implements DualEncoderModel {
  readonly weights: WeightSet;

  constructor(
    private readonly tf: typeof Tf,
    readonly architecture: TransformerArchitecture,
    seed: number,
  ) {
    this.weights = new WeightSet(tf, seed);
    const { vocabSize, width, layers, ffnWidth, dim, maxLength } = architecture;
    const w = this.weights;
    const std = 0.02;
    for (const tower of architecture.towers === 'shared' ? ['shared'] : ['query', 'item']) {
      w.restartSeed(seed);
      w.normal(`${tower}/embeddings`, [vocabSize, width], std);
      w.normal(`${tower}/positions`, [maxLength, width], std);
      for (let l = 0; l < layers; l++) {
        const p = `${tower}/layer${l}`;
        w.constant(`${p}/ln1/gamma`, [width], 1);
        w.constant(`${p}/ln1/beta`, [width], 0);
        for (const m of ['q', 'k', 'v', 'o']) {
          w.normal(`${p}/attn/${m}/kernel`, [width, width], std);
          w.constant(`${p}/attn/${m}/bias`, [width], 0);
        }
        w.constant(`${p}/ln2/gamma`, [width], 1);
        w.constant(`${p}/ln2/beta`, [width], 0);
        w.normal(`${p}/ffn/in/kernel`, [width, ffnWidth], std);
        w.constant(`${p}/ffn/in/bias`, [ffnWidth], 0);
        w.normal(`${p}/ffn/out/kernel`, [ffnWidth, width], std);
        w.constant(`${p}/ffn/out/bias`, [width], 0);
      }
      w.constant(`${tower}/ln/gamma`, [width], 1);
      w.constant(`${tower}/ln/beta`, [width], 0);
      w.normal(`${tower}/proj/kernel`, [width, dim], 1 / Math.sqrt(width));
      w.constant(`${tower}/proj/bias`, [dim], 0);
    }
    if (architecture.pooling === 'idf') w.constant('idf', [vocabSize], 1, { trainable: false });
  }

  encode(ids: Tf.Tensor2D, mask: Tf.Tensor2D, view: View): Tf.Tensor2D {
    const tf = this.tf;
    const { width, heads, layers, maxLength } = this.architecture;
    const tower = towerOf(this.architecture, view);
    const w = <T extends Tf.Tensor>(name: string) => this.weights.get(`${tower}/${name}`) as unknown as T;
    const [batch, length] = ids.shape;
    if (length > maxLength) throw new RangeError(`input length ${length} exceeds the model's maxLength ${maxLength}`);
    const headDim = width / heads;
    return tf.tidy(() => {
      const positions = w<Tf.Tensor2D>('positions').slice([0, 0], [length, width]);
      let x = embeddingLookup(tf, w<Tf.Tensor2D>('embeddings'), ids).add(positions) as Tf.Tensor;
      // [b, 1, 1, l] → [b·heads, 1, l]: 0 for real keys, MASKED for padding.
      const keyBias = tf
        .sub(1, tf.cast(mask, 'float32'))
        .mul(MASKED)
        .reshape([batch, 1, 1, length])
        .tile([1, heads, 1, 1])
        .reshape([batch * heads, 1, length]);
      const splitHeads = (t: Tf.Tensor) =>
        t
          .reshape([batch, length, heads, headDim])
          .transpose([0, 2, 1, 3])
          .reshape([batch * heads, length, headDim]) as Tf.Tensor3D;
      for (let l = 0; l < layers; l++) {
        const p = `layer${l}`;
        const h = layerNorm(tf, x, w(`${p}/ln1/gamma`), w(`${p}/ln1/beta`));
        const proj = (m: string) => dense(tf, h, w(`${p}/attn/${m}/kernel`), w(`${p}/attn/${m}/bias`));
        const q = splitHeads(proj('q'));
        const k = splitHeads(proj('k'));
        const v = splitHeads(proj('v'));
        const attention = tf.softmax(tf.matMul(q, k, false, true).div(Math.sqrt(headDim)).add(keyBias));
        const context = tf.matMul(attention, v).reshape([batch, heads, length, headDim]).transpose([0, 2, 1, 3]).reshape([batch, length, width]);
        x = x.add(dense(tf, context, w(`${p}/attn/o/kernel`), w(`${p}/attn/o/bias`)));
        const h2 = layerNorm(tf, x, w(`${p}/ln2/gamma`), w(`${p}/ln2/beta`));
        x = x.add(dense(tf, gelu(tf, dense(tf, h2, w(`${p}/ffn/in/kernel`), w(`${p}/ffn/in/bias`))), w(`${p}/ffn/out/kernel`), w(`${p}/ffn/out/bias`)));
      }
      x = layerNorm(tf, x, w('ln/gamma'), w('ln/beta'));
      const pooled = pool(tf, x as Tf.Tensor3D, mask, ids, this.architecture.pooling === 'idf' ? (this.weights.get('idf') as unknown as Tf.Tensor1D) : null);
      return l2Normalize(tf, dense(tf, pooled, w('proj/kernel'), w('proj/bias')) as Tf.Tensor2D);
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}
