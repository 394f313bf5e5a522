import type * as Tf from '@tensorflow/tfjs';
import { embeddingLookup } from './embedding-lookup.js';

/*
 * The fast architecture: token embeddings, masked mean pooling, a dense
 * projection to `dim`, L2 normalisation. Two towers (f_q for queries, f_i
 * for items) share the token embeddings or not; each has its own projection
 * when separate (SCI needs separate towers).
 */

export interface FastTowerConfig {
  vocabSize: number;
  embeddingDim: number;
  dim: number;
  /** 'shared': one set of weights for both views; 'separate': two towers. */
  towers: 'shared' | 'separate';
  seed: number;
}

export type View = 'query' | 'item';

export class FastDualEncoder {
  readonly variables: Tf.Variable[];
  private readonly embeddings: Record<View, Tf.Variable>;
  private readonly kernels: Record<View, Tf.Variable>;
  private readonly biases: Record<View, Tf.Variable>;

  constructor(private readonly tf: typeof Tf, readonly config: FastTowerConfig) {
    const { vocabSize, embeddingDim, dim, seed } = config;
    const init = (shape: number[], s: number, scale: number) => tf.variable(tf.randomNormal(shape, 0, scale, 'float32', s));
    const queryEmbedding = init([vocabSize, embeddingDim], seed, 0.1);
    const queryKernel = init([embeddingDim, dim], seed + 1, 1 / Math.sqrt(embeddingDim));
    const queryBias = tf.variable(tf.zeros([dim]));
    if (config.towers === 'shared') {
      this.embeddings = { query: queryEmbedding, item: queryEmbedding };
      this.kernels = { query: queryKernel, item: queryKernel };
      this.biases = { query: queryBias, item: queryBias };
      this.variables = [queryEmbedding, queryKernel, queryBias];
    } else {
      const itemEmbedding = init([vocabSize, embeddingDim], seed + 2, 0.1);
      const itemKernel = init([embeddingDim, dim], seed + 3, 1 / Math.sqrt(embeddingDim));
      const itemBias = tf.variable(tf.zeros([dim]));
      this.embeddings = { query: queryEmbedding, item: itemEmbedding };
      this.kernels = { query: queryKernel, item: itemKernel };
      this.biases = { query: queryBias, item: itemBias };
      this.variables = [queryEmbedding, queryKernel, queryBias, itemEmbedding, itemKernel, itemBias];
    }
  }

  /** L2-normalised [batch, dim] embeddings of token ids through the `view` tower. */
  encode(ids: Tf.Tensor2D, mask: Tf.Tensor2D, view: View): Tf.Tensor2D {
    const tf = this.tf;
    return tf.tidy(() => {
      const tokens = embeddingLookup(tf, this.embeddings[view] as unknown as Tf.Tensor2D, ids);
      const m = mask.toFloat().expandDims(2);
      const pooled = tokens.mul(m).sum(1).div(m.sum(1).maximum(1e-6)) as Tf.Tensor2D;
      const projected = pooled.matMul(this.kernels[view]).add(this.biases[view]) as Tf.Tensor2D;
      return projected.div(projected.norm('euclidean', 1, true).maximum(1e-12)) as Tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const v of new Set(this.variables)) v.dispose();
  }
}
