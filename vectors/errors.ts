import { SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** A vector file is missing, truncated, or of an unsupported layout. */
export class VectorFileError extends SciClusterError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('VECTOR_FILE', message, options, { retryable: false, status: 422 });
  }
}

/** An Arrow vector file without the column asked for (a one-tower set asked for its query view, say): callers may go on without it. */
export class MissingVectorColumnError extends VectorFileError {}
