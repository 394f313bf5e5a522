import { percentile } from '../eval/index.js';

/*
 * Hedged requests (The Tail at Scale): when a shard has not answered after
 * the p-th percentile of its recent answer times, the same request goes to
 * every replica of that shard (the hedge subject, outside the queue group)
 * and the first answer wins. A replica that stalls (GC, a page-in, a
 * stopped process) then costs one percentile delay instead of the deadline.
 */

export interface HedgePolicy {
  /** Hedge after this percentile of the shard's recent answer times. @defaultValue 95 */
  percentile: number;
  /** Answers to see from a shard before hedging it (no delay to base it on before). @defaultValue 20 */
  minSamples: number;
  /** Answer times kept per shard. @defaultValue 256 */
  window: number;
}

export const DEFAULT_HEDGE_POLICY: HedgePolicy = { percentile: 95, minSamples: 20, window: 256 };

/**
 * Recent answer times per shard and kind of request (an HNSW search and a Flat scan of the same shard
 * take different times: one window would hedge the fast kind never and the slow kind always), and the
 * hedge delay they give.
 */
export class ShardLatencies {
  private readonly samples = new Map<string, { times: Float64Array; next: number; count: number }>();

  constructor(private readonly policy: HedgePolicy) {}

  /** `kind`: what the request asks (op and index), so each kind of request has its own window. */
  record(shard: number, ms: number, kind = ''): void {
    const key = `${kind}/${shard}`;
    let ring = this.samples.get(key);
    if (!ring) this.samples.set(key, (ring = { times: new Float64Array(this.policy.window), next: 0, count: 0 }));
    ring.times[ring.next] = ms;
    ring.next = (ring.next + 1) % ring.times.length;
    ring.count = Math.min(ring.count + 1, ring.times.length);
  }

  /** Milliseconds to wait before hedging `shard`; null while too few answers were seen. */
  delayFor(shard: number, kind = ''): number | null {
    const ring = this.samples.get(`${kind}/${shard}`);
    if (!ring || ring.count < this.policy.minSamples) return null;
    const sorted = Array.from(ring.times.subarray(0, ring.count)).sort((a, b) => a - b);
    return percentile(sorted, this.policy.percentile);
  }
}

/** Counters of a router's hedging: requests hedged, and how many of those the hedge answered first. */
export interface HedgeCounters {
  sent: number;
  won: number;
}

/**
 * `first` unless it is still pending after `delayMs`; then `hedge()` is sent
 * too and whichever answers first wins. Fails only when every request sent
 * failed (with the first request's error).
 */
export function hedged<T>(first: Promise<T>, delayMs: number | null, hedge: () => Promise<T>, counters: HedgeCounters): Promise<T> {
  if (delayMs === null) return first;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let hedging = false;
    let firstError: unknown = null;
    let failures = 0;
    const timer = setTimeout(() => {
      if (settled) return;
      hedging = true;
      counters.sent += 1;
      hedge().then(
        (value) => win(value, true),
        (err: unknown) => lose(err, false),
      );
    }, delayMs);
    const win = (value: T, byHedge: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (byHedge) counters.won += 1;
      resolve(value);
    };
    const lose = (err: unknown, isFirst: boolean) => {
      if (settled) return;
      if (isFirst) firstError = err;
      failures += 1;
      // Before the hedge went out, the first request's failure (no server, a timeout) is the answer.
      if (!hedging || failures === 2) {
        settled = true;
        clearTimeout(timer);
        reject(firstError ?? err);
      }
    };
    first.then(
      (value) => win(value, false),
      (err: unknown) => lose(err, true),
    );
  });
}
