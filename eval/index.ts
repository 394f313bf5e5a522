export { ndcgAtK, mrrAtK, recallAtK, successAtK, evaluateRun, parseQrels, REPORT_METRICS, type Qrels, type MeanMetrics } from './metrics.js';
export { annRecallAtK, topKOverlap } from './ann-recall.js';
export { writeTrecRun, parseTrecRun, type RankedList } from './trec-run.js';
export { loadJudgedQueries } from './judged-queries.js';
export { EvalInputError } from './errors.js';
export { crossTowerGap, positiveGeometry, rowDot, uniformity } from './geometry.js';
export { percentile } from './percentile.js';
export { evaluateIndexes, reportDepths, type QuerySample, type IndexReport, type SweepPoint } from './served-evaluation.js';
export { evaluateHybrid, fuseKeptRuns, type HybridReport, type KeptRun } from './hybrid.js';
