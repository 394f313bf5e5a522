export * from './model.js';
export { NAMES } from './names.js';
export { openClusterState, openObjectStore, wantedConsumer, consumerDrift, type ClusterState, type ClusterStateOptions } from './cluster-state.js';
export { getRecord, createRecord, updateRecord, isRevisionConflict, listJobs, listKeys, tasksOfJob } from './records.js';
export { RetryableTaskError, FatalTaskError, JobError } from './errors.js';
export { submitJob, waitForJob, jobStatus, type JobStatus } from './client.js';
