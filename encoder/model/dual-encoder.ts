import type * as Tf from '@tensorflow/tfjs';
import type { Architecture, View } from './architecture.js';
import type { WeightSet } from './weights.js';

/** A trainable dual-tower encoder: token ids in, L2-normalised [batch, dim] vectors out. */
export interface DualEncoderModel {
  readonly architecture: Architecture;
  readonly weights: WeightSet;
  /** Encodes token ids [batch, length] (mask 1 = real token) through the `view` tower. */
  encode(ids: Tf.Tensor2D, mask: Tf.Tensor2D, view: View): Tf.Tensor2D;
  dispose(): void;
}

/** Which tower's weights a view uses: "shared" for both when towers are shared. */
export function towerOf(architecture: Architecture, view: View): string {
  return architecture.towers === 'shared' ? 'shared' : view;
}
