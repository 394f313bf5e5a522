import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A search request is malformed or asks for something the index set lacks (the caller's fault). */
export class SearchRequestError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('SEARCH_BAD_REQUEST', message, options, { retryable: false, status: 400 });
  }
}

/** The index set or a shard cannot serve (not found, not loaded, failed). */
export class SearchUnavailableError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('SEARCH_UNAVAILABLE', message, options, { retryable: true, status: 503 });
  }
}

/** Every server that could answer turned the request away for load (admission control): retry after a moment. */
export class SearchOverloadedError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('RESOURCE_EXHAUSTED', message, options, { retryable: true, status: 503 });
  }
}
