import { CancelledError } from '../common/index.js';

/*
 * Cancellation across the worker-thread boundary. An AbortSignal cannot be
 * sent to a piscina thread, and piscina's own abort terminates the thread,
 * which is not safe under a running native call. So the owner raises a flag
 * in shared memory; the thread turns it back into an AbortSignal that its
 * batch loops and FaissIndex calls check, and stops between batches.
 */

const RAISED = 1;

/** The owner's side: a flag raised when `signal` aborts (never, without one). */
export function cancelFlagFor(signal: AbortSignal | undefined): SharedArrayBuffer {
  const flag = new SharedArrayBuffer(4);
  if (signal) {
    const raise = () => Atomics.store(new Int32Array(flag), 0, RAISED);
    if (signal.aborted) raise();
    else signal.addEventListener('abort', raise, { once: true });
  }
  return flag;
}

/** What a task checks: `throwIfCancelled()` at its batch boundaries (reads the flag itself), and `signal` for calls that take one. */
export interface TaskCancel {
  signal: AbortSignal;
  throwIfCancelled(): void;
}

/**
 * The thread's side. A busy task loop may never yield to timers, so the
 * check reads the flag itself; the timer only serves awaits that do yield
 * (a native search on the libuv pool watching `signal`). Call `dispose`
 * when the task ends.
 */
export function cancelOfFlag(flag: SharedArrayBuffer | undefined, pollMs = 50): TaskCancel & { dispose: () => void } {
  const controller = new AbortController();
  const view = flag ? new Int32Array(flag) : null;
  const sync = () => {
    if (view && Atomics.load(view, 0) === RAISED && !controller.signal.aborted) controller.abort(new CancelledError('the task was cancelled'));
  };
  const timer = view ? setInterval(sync, pollMs) : null;
  timer?.unref();
  sync();
  return {
    signal: controller.signal,
    throwIfCancelled: () => {
      sync();
      controller.signal.throwIfAborted();
    },
    dispose: () => {
      if (timer) clearInterval(timer);
    },
  };
}
