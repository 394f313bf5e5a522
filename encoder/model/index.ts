export { ArchitectureSchema, type Architecture, type View } from './architecture.js';
export { type DualEncoderModel, towerOf } from './dual-encoder.js';
export { FastDualEncoder } from './fast-tower.js';
export { TransformerDualEncoder } from './transformer-tower.js';
export { createDualEncoder } from './create.js';
export { WeightSet } from './weights.js';
