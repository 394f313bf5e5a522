import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A result record cannot be read, or would not say truthfully which code made it (mixed or dirty code where clean is asked for). */
export class ResultRecordError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('RESULT_RECORD', message, options, { retryable: false, status: 422 });
  }
}
