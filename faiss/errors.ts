import { CancelledError, SciClusterError, type SciClusterErrorOptions } from '../common/index.js';

/** Base of errors from the Faiss binding; `code` comes from the addon's `[CODE]` prefix. */
export class FaissError extends SciClusterError {
  constructor(code: string, message: string, options: SciClusterErrorOptions = {}) {
    // Out of memory may pass on another machine or later; anything else is the input's.
    super(code, message, options, { retryable: code === 'FAISS_OUT_OF_MEMORY', status: code === 'FAISS_OUT_OF_MEMORY' ? 503 : 500 });
  }
}

/** Wrong dimension, NaN values, bad factory string, k out of range, … */
export class FaissInvalidArgumentError extends FaissError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('FAISS_INVALID_ARGUMENT', message, { status: 400, ...options });
  }
}

/** Vectors added to or searched in an index that needs training first. */
export class FaissNotTrainedError extends FaissError {
  constructor(message: string, options: SciClusterErrorOptions = {}) {
    super('FAISS_NOT_TRAINED', message, { status: 422, ...options });
  }
}

const PREFIX = /^\[([A-Z_]+)\] ([\s\S]*)$/;
/** Faiss's own words for a training set smaller than its clusters (k-means asserts): an argument error, read here only. */
const TOO_FEW_TRAINING_POINTS = /should be at least as large as number of clusters|nx >= k/;

/** The one converter at the native boundary: an addon error becomes a typed error. */
export function fromNative(err: unknown, context: SciClusterErrorOptions = {}): FaissError | CancelledError {
  if (err instanceof FaissError || err instanceof CancelledError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const match = PREFIX.exec(message);
  const options = { ...context, cause: err };
  if (!match) return new FaissInvalidArgumentError(message, options);
  const [, code, text] = match as unknown as [string, string, string];
  if (code === 'INVALID_ARGUMENT' || TOO_FEW_TRAINING_POINTS.test(text)) return new FaissInvalidArgumentError(text, options);
  if (code === 'NOT_TRAINED') return new FaissNotTrainedError(text, options);
  if (code === 'DEADLINE_EXCEEDED' || code === 'CANCELLED') return new CancelledError(text, { ...options, expired: code === 'DEADLINE_EXCEEDED' });
  return new FaissError(`FAISS_${code.replace(/^FAISS_/, '')}`, text, options);
}

/** Awaits a native promise, converting its rejection. */
export async function native<T>(promise: () => Promise<T> | T, context: SciClusterErrorOptions = {}): Promise<T> {
  try {
    return await promise();
  } catch (err) {
    throw fromNative(err, context);
  }
}
