import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A BM25 index folder is missing, corrupt, or was built with other settings. */
export class Bm25IndexError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('BM25_INDEX', message, options, { retryable: false, status: 500 });
  }
}

/** A search argument is out of range (k, parameters, statistics). */
export class Bm25ArgumentError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('BM25_ARGUMENT', message, options, { retryable: false, status: 400 });
  }
}
