export { GridConfigSchema, gridCells, type GridConfig, type GridCell } from './config.js';
export { runGrid, type RunGridOptions } from './run.js';
export { buildGridReport, writeGridReport, meanStd, type GridReport, type GridRow, type MeanStd } from './report.js';
export { ExperimentError } from './errors.js';
export { gridRecord, readGridRecord, type GridRecord } from './record.js';
