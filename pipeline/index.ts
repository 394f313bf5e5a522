export { PipelineConfigSchema, type PipelineConfig } from './config.js';
export {
  planPipeline,
  finalStage,
  fingerprintOf,
  type PipelinePlan,
  type PipelineStep,
  type TrainSegment,
  type EvalTarget,
  type AnalysisTarget,
} from './plan.js';
export { analyseStage, atEqualOverlap, type AnalysisResult, type EqualOverlapPoint } from './analysis.js';
export { runPipeline, trainConfigOf, type PipelineCluster, type PipelineHooks, type RunPipelineOptions } from './driver.js';
export { readPipelineState, PipelineStateSchema, PIPELINE_STATE_FORMAT, type PipelineState, type StepRecord, type EvalResult } from './state.js';
export { writePipelineReport, writeSeedSummary, summarizeSeeds, type PipelineSummary, type SummaryRow } from './report.js';
export { PipelineError } from './errors.js';
export { acceptedFingerprints, pipelineRecord, readPipelineRecord, resolvedPipelineConfig, PipelineRecordBodySchema, type PipelineRecord } from './record.js';
export {
  pipelineHeadline,
  renderPipelineMarkdown,
  renderRecordComparison,
  renderLeverTable,
  type LeverRun,
  renderSeedCheck,
  seedCheck,
  pipelineTimes,
  pipelineRowLabel,
} from './record-markdown.js';
