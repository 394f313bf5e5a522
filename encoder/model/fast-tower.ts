import type * as Tf from '@tensorflow/tfjs';
import type { Architecture, View } from './architecture.js';
import { towerOf, type DualEncoderModel } from './dual-encoder.js';
import { embeddingLookup } from './embedding-lookup.js';
import { dense, l2Normalize, pool } from './layers.js';
import { WeightSet } from './weights.js';

/*
 * The fast architecture: token embeddings, masked mean pooling, a dense
 * projection to `dim`, L2 normalisation. Separate towers have their own
 * embeddings and projection each, initialised as identical copies: an
 * untrained pair already maps a word to the same place from both sides, and
 * words never seen in training still match (unrelated random towers would
 * start with a cross-tower gap of 1 and never close it for unseen words).
 */

export type FastArchitecture = Extract<Architecture, { kind: 'fast' }>;

export class FastDualEncoder implements DualEncoderModel {
  readonly weights: WeightSet;

  constructor(
    private readonly tf: typeof Tf,
    readonly architecture: FastArchitecture,
    seed: number,
  ) {
    this.weights = new WeightSet(tf, seed);
    const { vocabSize, embeddingDim, dim } = architecture;
    for (const tower of architecture.towers === 'shared' ? ['shared'] : ['query', 'item']) {
      this.weights.restartSeed(seed);
      this.weights.normal(`${tower}/embeddings`, [vocabSize, embeddingDim], 0.1);
      this.weights.normal(`${tower}/proj/kernel`, [embeddingDim, dim], 1 / Math.sqrt(embeddingDim));
      this.weights.constant(`${tower}/proj/bias`, [dim], 0);
    }
    if (architecture.pooling === 'idf') this.weights.constant('idf', [vocabSize], 1, { trainable: false });
  }

  get variables(): Tf.Variable[] {
    return this.weights.variables;
  }

  encode(ids: Tf.Tensor2D, mask: Tf.Tensor2D, view: View): Tf.Tensor2D {
    const tf = this.tf;
    const w = (name: string) => this.weights.get(`${towerOf(this.architecture, view)}/${name}`);
    return tf.tidy(() => {
      const tokens = embeddingLookup(tf, w('embeddings') as unknown as Tf.Tensor2D, ids);
      const pooled = pool(tf, tokens, mask, ids, this.architecture.pooling === 'idf' ? (this.weights.get('idf') as unknown as Tf.Tensor1D) : null);
      return l2Normalize(tf, dense(tf, pooled, w('proj/kernel') as unknown as Tf.Tensor2D, w('proj/bias') as unknown as Tf.Tensor1D) as Tf.Tensor2D);
    });
  }

  dispose(): void {
    this.weights.dispose();
  }
}
