import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A grid file that cannot be run as written, or a grid run that cannot go on. */
export class ExperimentError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('EXPERIMENT', message, options, { retryable: false, status: 422 });
  }
}
