export { GridConfigSchema, gridCells, type GridConfig, type GridCell } from './config.js';
export { runGrid, type RunGridOptions } from './run.js';
export { buildGridReport, writeGridReport, meanStd, type GridReport, type GridRow, type MeanStd } from './report.js';
export { ExperimentError } from './errors.js';
export { gridRecord, gridProvenance, readGridRecord, type GridRecord } from './record.js';
export { renderGridMarkdown } from './grid-markdown.js';
export {
  runCiTest,
  CI_METHODS,
  CI_PAIRS,
  METHOD_DESCRIPTIONS,
  type CiTestReport,
  type CiTestOptions,
  type CheckpointResult,
  type VariantResult,
  type BootstrapMetric,
  type CiMethod,
} from './ci-test.js';
export { ivfLayout, walkIvf, type IvfLayout, type ProbePoint, type WalkResult } from './ivf-walk.js';
export { ciTestRecord, ciTestCommits, readCiTestRecord, type CiTestRecord, type CiTestSettings, type CiTestCode } from './ci-test-record.js';
