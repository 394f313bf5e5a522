export { writeEvalReport, type EvalReport } from './eval-report.js';
