export * from './model.js';
export { NAMES } from './names.js';
export { openClusterState, openObjectStore, wantedConsumer, consumerDrift, type ClusterState, type ClusterStateOptions } from './cluster-state.js';
export {
  getRecord,
  createRecord,
  updateRecord,
  parseRecord,
  isRevisionConflict,
  listJobs,
  listKeys,
  listWorkers,
  tasksOfJob,
  type OnCorruptRecord,
} from './records.js';
export { RetryableTaskError, FatalTaskError, JobError, JobNotFoundError, JobStateError, CorruptRecordError } from './errors.js';
export { submitJob, controlJob, waitForJob, jobStatus, formatJobLog, type JobStatus, type JobControl } from './client.js';
