import type { Logger } from '../common/index.js';

export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Removes the handlers (call in `finally`). */
  release(): void;
}

/**
 * Long-running drivers (train, pipeline, experiment) stop cleanly on Ctrl-C or SIGTERM: the signal aborts
 * their work at its next safe point, and `howToGoOn` tells the user what that point is and how to continue.
 */
export function interruptOnSignals(log: Logger, howToGoOn: string): Interrupt {
  const stop = new AbortController();
  const onSignal = () => {
    log.warn(`interrupted: ${howToGoOn}`);
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: stop.signal,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
