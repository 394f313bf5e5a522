import type * as Tf from '@tensorflow/tfjs';

/* Building blocks shared by the architectures (plain tensor ops: they all have wasm kernels and gradients). */

/** Mean of the real tokens: [b, l, h] with mask [b, l] → [b, h]. */
export function maskedMeanPool(tf: typeof Tf, tokens: Tf.Tensor3D, mask: Tf.Tensor2D): Tf.Tensor2D {
  const m = tf.cast(mask, 'float32').expandDims(2);
  return tokens.mul(m).sum(1).div(m.sum(1).maximum(1e-6)) as Tf.Tensor2D;
}

/** Weighted mean of the real tokens: token t of row b counts weights[ids[b, t]] (a frozen per-piece weight). */
export function weightedMeanPool(tf: typeof Tf, tokens: Tf.Tensor3D, mask: Tf.Tensor2D, ids: Tf.Tensor2D, weights: Tf.Tensor1D): Tf.Tensor2D {
  const w = tf
    .gather(weights, ids.reshape([-1]))
    .reshape(ids.shape)
    .mul(tf.cast(mask, 'float32'))
    .expandDims(2);
  return tokens.mul(w).sum(1).div(w.sum(1).maximum(1e-6)) as Tf.Tensor2D;
}

/** Pooling as the architecture says: plain or IDF-weighted mean of the real tokens. */
export function pool(tf: typeof Tf, tokens: Tf.Tensor3D, mask: Tf.Tensor2D, ids: Tf.Tensor2D, idf: Tf.Tensor1D | null): Tf.Tensor2D {
  return idf ? weightedMeanPool(tf, tokens, mask, ids, idf) : maskedMeanPool(tf, tokens, mask);
}

/** x · W + b over the last axis, any rank. */
export function dense(tf: typeof Tf, x: Tf.Tensor, kernel: Tf.Tensor2D, bias: Tf.Tensor1D): Tf.Tensor {
  const [inDim, outDim] = kernel.shape;
  const flat = x.reshape([-1, inDim]) as Tf.Tensor2D;
  return flat
    .matMul(kernel)
    .add(bias)
    .reshape([...x.shape.slice(0, -1), outDim]);
}

export function layerNorm(tf: typeof Tf, x: Tf.Tensor, gamma: Tf.Tensor1D, beta: Tf.Tensor1D, epsilon = 1e-5): Tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(epsilon).sqrt()).mul(gamma).add(beta);
}

/** GELU, tanh approximation (as in BERT's original code). */
export function gelu(tf: typeof Tf, x: Tf.Tensor): Tf.Tensor {
  const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
  return x.mul(0.5).mul(tf.tanh(inner).add(1));
}

export function l2Normalize(tf: typeof Tf, x: Tf.Tensor2D): Tf.Tensor2D {
  return x.div(x.norm('euclidean', 1, true).maximum(1e-12)) as Tf.Tensor2D;
}
