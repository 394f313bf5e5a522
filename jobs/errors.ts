import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A task failed in a way a retry may fix (I/O, a lost connection): nak with backoff. */
export class RetryableTaskError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('TASK_RETRYABLE', message, options, { retryable: true, status: 503 });
  }
}

/** A task can never succeed (bad input, bad spec): terminate it and fail the job. */
export class FatalTaskError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('TASK_FATAL', message, options, { retryable: false, status: 422 });
  }
}

/** A job spec or request was refused. */
export class JobError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('JOB_INVALID', message, options, { retryable: false, status: 400 });
  }
}

/** No job by that id. */
export class JobNotFoundError extends SciClusterError {
  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `no job ${jobId}`, { field: 'jobId' }, { retryable: false, status: 404 });
  }
}

/** The job is not in a state the request applies to (cancel a finished job, retry a running one). */
export class JobStateError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('JOB_STATE', message, { field: 'jobId', ...options }, { retryable: false, status: 409 });
  }
}

/** A record in KV breaks its schema (written by a faulty or hostile peer): quarantined, never retried. */
export class CorruptRecordError extends SciClusterError {
  constructor(
    readonly key: string,
    message: string,
    options: SciClusterErrorOptions = {},
  ) {
    super('CORRUPT_RECORD', `record ${key} is corrupt: ${message}`, options, { retryable: false, status: 500 });
  }
}
