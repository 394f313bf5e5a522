import { FatalTaskError, RetryableTaskError } from '../jobs/errors.js';

const PREFIX = /^\[([A-Z0-9_]+)\] ([\s\S]*)$/;

/**
 * The one converter at the worker-thread boundary: rebuilds the typed task
 * error from the code the pool entry put in front of the message. Input and
 * argument errors (codes other than retryable ones) are fatal: retrying the
 * same task on the same input cannot succeed.
 */
export function fromWorkerThread(err: unknown): FatalTaskError | RetryableTaskError {
  if (err instanceof FatalTaskError || err instanceof RetryableTaskError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const match = PREFIX.exec(message);
  const code = match?.[1] ?? 'TASK_RETRYABLE';
  const text = match?.[2] ?? message;
  const retryable = code === 'TASK_RETRYABLE' || code === 'STORAGE' || code === 'MESSAGING' || code === 'FAISS_OUT_OF_MEMORY';
  return retryable ? new RetryableTaskError(text, { cause: err }) : new FatalTaskError(`${code}: ${text}`, { cause: err });
}
