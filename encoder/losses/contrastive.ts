import type * as Tf from '@tensorflow/tfjs';

/*
 * Training losses over L2-normalised embeddings (so dot products are cosines):
 * - InfoNCE over the in-batch cosine matrix with temperature τ, with optional
 *   extra (hard) negatives appended as columns;
 * - the topology term w · mean(1 − cos(q, d⁺)) that pulls positives together
 *   in absolute terms;
 * - SCI's original triplet hinge: mean over in-batch negatives of
 *   max(0, δ − cos(q, d⁺) + cos(q, d⁻)).
 */

/** Mean over the batch of −log softmax(q·D/τ)[i]; D = [positives; negatives]. */
export function infoNce(tf: typeof Tf, q: Tf.Tensor2D, positives: Tf.Tensor2D, temperature: number, negatives: Tf.Tensor2D | null = null): Tf.Scalar {
  return tf.tidy(() => {
    const candidates = negatives ? tf.concat([positives, negatives], 0) : positives;
    const logits = q.matMul(candidates, false, true).div(temperature);
    const batch = q.shape[0];
    const labels = tf.oneHot(tf.range(0, batch, 1, 'int32'), candidates.shape[0]);
    return tf.losses.softmaxCrossEntropy(labels, logits) as Tf.Scalar;
  });
}

/** w · mean(1 − cos(q, d⁺)). */
export function positiveDistance(tf: typeof Tf, q: Tf.Tensor2D, positives: Tf.Tensor2D, weight: number): Tf.Scalar {
  return tf.tidy(() => tf.scalar(1).sub(q.mul(positives).sum(1)).mean().mul(weight) as Tf.Scalar);
}

/** mean over negatives j (in-batch j ≠ i, then any extra ones) of max(0, δ − cos(q_i, d_i) + cos(q_i, d_j)). */
export function tripletHinge(tf: typeof Tf, q: Tf.Tensor2D, positives: Tf.Tensor2D, margin: number, negatives: Tf.Tensor2D | null = null): Tf.Scalar {
  return tf.tidy(() => {
    const batch = q.shape[0];
    const candidates = negatives ? tf.concat([positives, negatives], 0) : positives;
    const columns = candidates.shape[0];
    const scores = q.matMul(candidates, false, true);
    const isPositive = tf.eye(batch, columns);
    const positive = scores.mul(isPositive).sum(1, true);
    const hinge = tf.relu(tf.scalar(margin).sub(positive).add(scores)).mul(tf.scalar(1).sub(isPositive));
    return hinge.sum().div(Math.max(1, batch * (columns - 1))) as Tf.Scalar;
  });
}
