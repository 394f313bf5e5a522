import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** Judged queries that cannot be read (a missing or malformed queries or qrels file, no judged query): the same on every try. */
export class EvalInputError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('EVAL_INPUT', message, options, { retryable: false, status: 422 });
  }
}
