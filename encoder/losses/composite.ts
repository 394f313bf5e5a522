import type * as Tf from '@tensorflow/tfjs';
import { infoNce, positiveDistance, tripletHinge } from './contrastive.js';

/*
 * The training objective, every part weighted from config and reported per step:
 *   base(f_q(Q), f_i(D⁺))              InfoNCE (τ, + hard negatives) or SCI's triplet hinge (δ)
 * + w · mean(1 − cos(f_q(Q), f_i(D⁺)))  the topology term (thesis; w = 0.6 reported best)
 * + λ · SymmAligner                     SCI input swapping (SCI-SPEC §1.3), variant
 *     A: base(f_i(Q), f_q(D⁺))                      the swapped towers trained on the same task
 *     B: base(f_i(Q), f_i(D⁺)) + base(f_q(Q), f_q(D⁺))  within-view
 *     C: mean(1 − cos(f_q(Q), f_i(Q))) + mean(1 − cos(f_q(D⁺), f_i(D⁺)))  view consistency
 */

export interface ObjectiveConfig {
  base: 'infonce' | 'triplet';
  /** InfoNCE temperature τ. */
  temperature: number;
  /** Triplet margin δ. */
  margin: number;
  /** Weight w of the distance term (0 = off). */
  distanceWeight: number;
  /** SymmAligner: variant and weight λ; null = off. */
  symmAligner: { variant: 'A' | 'B' | 'C'; lambda: number } | null;
}

/** Encodings of one batch; the swapped ones are needed only with SymmAligner. */
export interface BatchEncodings {
  /** f_q(Q) */
  queryByQueryTower: Tf.Tensor2D;
  /** f_i(D⁺) */
  positiveByItemTower: Tf.Tensor2D;
  /** f_i(hard negatives), or null. */
  negativesByItemTower: Tf.Tensor2D | null;
  /** f_i(Q) */
  queryByItemTower: Tf.Tensor2D | null;
  /** f_q(D⁺) */
  positiveByQueryTower: Tf.Tensor2D | null;
}

export interface LossParts {
  total: Tf.Scalar;
  parts: Record<string, Tf.Scalar>;
}

export function trainingLoss(tf: typeof Tf, e: BatchEncodings, config: ObjectiveConfig): LossParts {
  const base = (q: Tf.Tensor2D, d: Tf.Tensor2D, negatives: Tf.Tensor2D | null) =>
    config.base === 'infonce' ? infoNce(tf, q, d, config.temperature, negatives) : tripletHinge(tf, q, d, config.margin, negatives);
  const parts: Record<string, Tf.Scalar> = {};
  parts[config.base] = base(e.queryByQueryTower, e.positiveByItemTower, e.negativesByItemTower);
  let total = parts[config.base]!;
  if (config.distanceWeight > 0) {
    parts.distance = positiveDistance(tf, e.queryByQueryTower, e.positiveByItemTower, config.distanceWeight);
    total = total.add(parts.distance);
  }
  const symm = config.symmAligner;
  if (symm && symm.lambda > 0) {
    const iQ = e.queryByItemTower;
    const qD = e.positiveByQueryTower;
    if (!iQ || !qD) throw new Error('SymmAligner needs the swapped encodings f_i(Q) and f_q(D⁺)');
    let term: Tf.Scalar;
    if (symm.variant === 'A') term = base(iQ, qD, null);
    else if (symm.variant === 'B') term = base(iQ, e.positiveByItemTower, null).add(base(e.queryByQueryTower, qD, null));
    else term = positiveDistance(tf, e.queryByQueryTower, iQ, 1).add(positiveDistance(tf, qD, e.positiveByItemTower, 1));
    parts.symmAligner = term.mul(symm.lambda);
    total = total.add(parts.symmAligner);
  }
  return { total, parts };
}
