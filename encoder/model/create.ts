import type * as Tf from '@tensorflow/tfjs';
import type { Architecture } from './architecture.js';
import type { DualEncoderModel } from './dual-encoder.js';
import { FastDualEncoder } from './fast-tower.js';
import { TransformerDualEncoder } from './transformer-tower.js';

/** A freshly initialised model of the given architecture (weights drawn from `seed`). */
export function createDualEncoder(tf: typeof Tf, architecture: Architecture, seed: number): DualEncoderModel {
  return architecture.kind === 'fast' ? new FastDualEncoder(tf, architecture, seed) : new TransformerDualEncoder(tf, architecture, seed);
}
