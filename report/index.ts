export { writeEvalReport, type EvalReport } from './eval-report.js';
export { linePlot, escapeHtml, PLOT_READBACK_SCRIPT, type Series, type PlotOptions } from './svg-plot.js';
export { writeReportFiles, writeTextAtomically } from './report-files.js';
export { reportPage, REPORT_STYLE } from './page.js';
