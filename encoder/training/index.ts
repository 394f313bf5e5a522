export { TrainConfigSchema, type TrainConfig, type TrainConfigInput } from './config.js';
export { train, type TrainOptions, type TrainResult } from './trainer.js';
export { loadTrainingData, loadCorpus, emptyNegatives, type TrainingData, type Corpus, type NegativeSource, type TrainingPair, type QuerySet } from './data.js';
export { buildDevPool, evaluateEncoder, type DevPool, type DevMetrics } from './evaluate.js';
export { AdamW, learningRate } from './adamw.js';
export { epochBatches, BatchSchedule } from './batches.js';
export { hashedBaselineEncoder } from './baseline.js';
