export { JOB_KINDS, jobKindOf, stageNamed, stagesOf } from './registry.js';
export { completeStage, shardsOfStage, writeOutputManifest, type StageOutcome } from './walk.js';
export { POOL_ENTRY } from './pool-entry.js';
export { cancelFlagFor } from './cancel-flag.js';
export { fromWorkerThread, WIRE_PREFIX } from './thread-errors.js';
export { EXPORT_SET_FORMAT } from './export/export.js';
export type { JobKind, PoolResult, PoolTask, ProgressMessage, Stage } from './stage.js';
