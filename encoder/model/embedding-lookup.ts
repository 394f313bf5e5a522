import type * as Tf from '@tensorflow/tfjs';

/**
 * Token embedding lookup with a hand-written gradient. The gradient of
 * tf.gather is UnsortedSegmentSum, which the wasm backend lacks and the cpu
 * backend runs once per vocabulary row (minutes per step for a 30k
 * vocabulary); a JS scatter-add of the upstream gradient into a dense
 * [vocab, dim] array is exact and fast.
 */
export function embeddingLookup(tf: typeof Tf, table: Tf.Tensor2D, ids: Tf.Tensor2D): Tf.Tensor3D {
  const [vocab, dim] = table.shape;
  const [batch, length] = ids.shape;
  const lookup = tf.customGrad((...args: unknown[]) => {
    const [tableIn, idsIn, save] = args as [Tf.Tensor, Tf.Tensor, Tf.GradSaveFunc];
    save([idsIn]);
    const value = tf.gather(tableIn as Tf.Tensor2D, (idsIn as Tf.Tensor2D).reshape([-1])).reshape([batch, length, dim]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const grad = new Float32Array(vocab * dim);
        const up = (dy as Tf.Tensor).dataSync() as Float32Array;
        const tokenIds = saved[0]!.dataSync() as Int32Array;
        for (let t = 0; t < tokenIds.length; t++) {
          const row = tokenIds[t]! * dim;
          const from = t * dim;
          for (let j = 0; j < dim; j++) grad[row + j]! += up[from + j]!;
        }
        return [tf.tensor2d(grad, [vocab, dim]), tf.zerosLike(saved[0]!)];
      },
    };
  });
  return (lookup as (...inputs: Tf.Tensor[]) => Tf.Tensor)(table, ids) as Tf.Tensor3D;
}
