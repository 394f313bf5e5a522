import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A pipeline cannot go on: a job failed, a finished step's definition changed, the storage cannot hold it. */
export class PipelineError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('PIPELINE', message, options, { retryable: false, status: 422 });
  }
}
