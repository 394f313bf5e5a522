export { writeEvalReport, type EvalReport } from './eval-report.js';
export { linePlot, escapeHtml, type Series, type PlotOptions } from './svg-plot.js';
