import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/**
 * A mine input that cannot be read the way it must be: a queries line that is not JSON, a file that is
 * not a candidates file, shards' candidates that do not line up. The same input fails the same way on
 * every delivery, so a task fails at once rather than being retried to max_deliver.
 */
export class MineInputError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('MINE_INPUT', message, options, { retryable: false, status: 422 });
  }
}

/** A candidates file written out of its own order (a fault of the writer's caller, never of the data): as deterministic, never retried. */
export class MineInvariantError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('MINE_INVARIANT', message, options, { retryable: false, status: 500 });
  }
}
