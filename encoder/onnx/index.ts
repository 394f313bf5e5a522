export { GraphBuilder, EXPORT_OPSET } from './graph-builder.js';
export { towerGraph, TOWER_INPUTS, TOWER_OUTPUT } from './tower-graph.js';
export {
  loadOnnxRuntime,
  onnxRuntimeVersion,
  openSession,
  hasNvidiaDevice,
  type ExecutionProvider,
  type ProviderPreference,
  type SessionOptions,
} from './runtime.js';
export { OnnxTextEncoder, type OnnxRunConfig, type OnnxModels } from './onnx-encoder.js';
export { readExportedWeights, type ExportedWeights } from './import-weights.js';
export { isOnnxModelDir, openOnnxFolder, folderTokenizer, ONNX_MODEL_FILE } from './model-folder.js';
export {
  exportCheckpoint,
  openCheckpointOnOnnx,
  checkpointGraphs,
  exportedRunConfig,
  QUERY_MODEL_FILE,
  EXPORT_CARD_FILE,
  EXPORT_FORMAT,
  type ExportCard,
} from './export.js';
