export {
  HashedTfidfEncoder,
  DfCounter,
  fitModel,
  saveModel,
  loadModel,
  writeDf,
  readDf,
  bucketOf,
  hashedTextEncoder,
  type HashedTfidfModel,
} from './hashed-tfidf.js';
export { EmbeddingShardWriter, embeddingSchema, readEmbeddingLayout, EMBEDDING_FORMAT } from './embedding-shards.js';
export { loadTfBackend, type TfBackend, type BackendName, type BackendPreference } from './backend.js';
export { saveCheckpoint, loadCheckpoint, readModelCard, ModelCardSchema, CHECKPOINT_FORMAT, MODEL_CARD_FILE, type ModelCard } from './checkpoint.js';
export { ModelTextEncoder, tokenizeBatch, type TextEncoder } from './text-encoder.js';
export { loadExternalEncoder, ExternalTfjsEncoder, ExternalConfigSchema, EXTERNAL_CONFIG_FILE } from './external-model.js';
export { openTextEncoder, plannedEngine, type EncoderSettings, type EnginePreference, type OpenEncoderOptions } from './open-encoder.js';
export {
  exportCheckpoint,
  openOnnxFolder,
  isOnnxModelDir,
  loadOnnxRuntime,
  EXPORT_CARD_FILE,
  ONNX_MODEL_FILE,
  QUERY_MODEL_FILE,
  type ExportCard,
  type ProviderPreference,
} from './onnx/index.js';
export { CheckpointError, TrainingDataError, EncoderEngineError } from './errors.js';
export { TrainConfigSchema, train, type TrainConfig, type TrainResult } from './training/index.js';
export { loadTrainingData, type TrainingData, type Corpus, type NegativeSource } from './training/index.js';
