import { ApiError } from './errors.js';

/*
 * Admission control for the API's heavy operations (searches, encodes): at
 * most `running` at once, at most `waiting` queued behind them; one more is
 * refused at once with 503 RESOURCE_EXHAUSTED (gRPC RESOURCE_EXHAUSTED) and
 * a Retry-After, before it allocates anything. The queue is what absorbs a
 * burst; the refusal is what keeps memory bounded under any load.
 */

export interface AdmissionLimits {
  /** Operations worked on at once. @defaultValue 32 */
  running: number;
  /** Operations waiting for a slot. @defaultValue 64 */
  waiting: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = { running: 32, waiting: 64 };

/** Seconds a refused caller is asked to wait (the REST Retry-After header). */
export const RETRY_AFTER_SECONDS = 1;

export class Admission {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** Refused so far (for logs and tests). */
  refused = 0;

  constructor(readonly limits: AdmissionLimits = DEFAULT_ADMISSION) {}

  /** Runs `work` when a slot is free; refuses at once when the queue is full too. */
  async run<T>(what: string, work: () => Promise<T> | T): Promise<T> {
    if (this.active >= this.limits.running) {
      if (this.queue.length >= this.limits.waiting) {
        this.refused += 1;
        throw new ApiError(
          503,
          'RESOURCE_EXHAUSTED',
          `the API is at capacity (${this.limits.running} ${what}s running, ${this.limits.waiting} waiting); retry in ${RETRY_AFTER_SECONDS} s`,
        );
      }
      // The slot is handed over by the finishing operation (active stays counted).
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.active += 1;
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
