export { simulateTail, fitLine, type TailModel, type TailPrediction, type SimulateOptions } from './tail-simulator.js';
export { measureCell, type CellConfig, type CellResult, type TimeSplit } from './cell.js';
export { runScaleGrid, simulateGrid, type ScaleGridOptions, type ScaleGridRun, type ValidationRow, type Extrapolation } from './grid.js';
export { buildScaleReport, writeScaleReport, type ScaleReport, type CellSummary, type PlotSpec } from './report.js';
export { runLoad, formatLoad, type LoadResult } from './load.js';
