import type * as Tf from '@tensorflow/tfjs';

/**
 * Central differences of `loss` with respect to `variable` at the `count`
 * entries with the largest analytic gradient (well above float32 noise);
 * the variable is restored after each probe.
 */
export function finiteDifferences(
  tf: typeof Tf,
  variable: Tf.Variable,
  analytic: Float32Array,
  loss: () => Tf.Scalar,
  count: number,
  eps = 1e-2,
): Array<{ index: number; numeric: number; analytic: number }> {
  const values = variable.dataSync().slice() as Float32Array;
  const largest = Array.from(analytic.keys())
    .sort((a, b) => Math.abs(analytic[b]!) - Math.abs(analytic[a]!))
    .slice(0, count);
  return largest.map((index) => {
    const probe = (delta: number) => {
      const copy = Float32Array.from(values);
      copy[index]! += delta;
      variable.assign(tf.tensor(copy, variable.shape));
      const value = loss().dataSync()[0]!;
      variable.assign(tf.tensor(values, variable.shape));
      return value;
    };
    return { index, numeric: (probe(eps) - probe(-eps)) / (2 * eps), analytic: analytic[index]! };
  });
}
