export { writeEvalReport, type EvalReport } from './eval-report.js';
export { linePlot, escapeHtml, PLOT_READBACK_SCRIPT, type Series, type PlotOptions } from './svg-plot.js';
export { writeReportFiles, writeTextAtomically } from './report-files.js';
export { reportPage, REPORT_STYLE } from './page.js';
export { renderPipelinePage } from './pipeline-page.js';
export { renderScaleReportHtml, renderScaleMarkdown } from './scale-page.js';
export { renderGridHtml, seriesName } from './grid-page.js';
export { renderCiTestHtml, renderCiTestMarkdown } from './ci-test-page.js';
