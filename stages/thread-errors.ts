import { fromErrorWire, type ErrorWire } from '../common/index.js';
import { FatalTaskError, RetryableTaskError } from '../jobs/index.js';

/** Marks a pool-thread error message that carries an ErrorWire as JSON. */
export const WIRE_PREFIX = 'sci-error:';

/**
 * The one converter at the worker-thread boundary: rebuilds the typed task
 * error from the wire form the pool entry put in the message. Whether it is
 * fatal is the original error's own `retryable`, never its message text.
 */
export function fromWorkerThread(err: unknown): FatalTaskError | RetryableTaskError {
  if (err instanceof FatalTaskError || err instanceof RetryableTaskError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let wire: ErrorWire;
  if (message.startsWith(WIRE_PREFIX)) wire = JSON.parse(message.slice(WIRE_PREFIX.length)) as ErrorWire;
  // A thread that died (out of memory, killed) says nothing typed: worth another try.
  else wire = { code: 'TASK_RETRYABLE', message, retryable: true, status: 503 };
  const cause = fromErrorWire(wire, { cause: err });
  return wire.retryable
    ? new RetryableTaskError(wire.message, { cause })
    : new FatalTaskError(`${wire.code}: ${wire.message}`, { cause, ...(wire.field ? { field: wire.field } : {}) });
}
