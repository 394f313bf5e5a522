import { seededRandom } from '../common/index.js';
import { percentile } from '../eval/index.js';

/*
 * Tail at scale: what a fan-out of N shards costs when each shard's answer
 * time is drawn from a measured distribution. A request waits for its
 * slowest shard, so its latency is the router's own time plus the maximum of
 * N draws: p50 of one shard becomes p(0.5^(1/N)) of it, and at 1,000 shards
 * the median request sees one shard's p99.9. With hedging, a shard not
 * answered after the hedge delay d is asked again (another replica, an
 * independent draw) and answers at min(x₁, d + x₂). Monte Carlo, seeded:
 * a shard's time is drawn from the measured samples below their p95 and,
 * above it, from an exponential tail fitted to the samples' excess over the
 * p95 (peaks over a threshold): 1,024 shards reach one shard's 99.999th
 * percentile, far beyond what a few thousand samples hold, so the largest
 * sample cannot be the ceiling. An exponential tail is exact for
 * exponential times and light for heavier-tailed ones.
 */

export interface TailModel {
  /** Per-shard answer times as the router saw them (ms): network + service, one per shard per request. */
  shardMs: readonly number[];
  /** The router's own time per request besides the shards and the merge (ms): encoding, sending, scheduling. */
  routerMs: readonly number[];
  /** Merge time, ms: a fixed part plus a part per shard answer (fitted over the measured shard counts). */
  merge: { baseMs: number; perShardMs: number };
}

export interface TailPrediction {
  shards: number;
  hedgeDelayMs: number | null;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Share of shard requests that were hedged. */
  hedgedShare: number;
}

export interface SimulateOptions {
  shards: number;
  /** Hedge after this delay (ms); null = no hedging. */
  hedgeDelayMs: number | null;
  /** Requests simulated. @defaultValue 4000 */
  trials?: number;
  seed?: number;
}

export function simulateTail(model: TailModel, options: SimulateOptions): TailPrediction {
  if (model.shardMs.length === 0 || model.routerMs.length === 0) throw new RangeError('the tail model needs shard and router samples');
  if (!Number.isInteger(options.shards) || options.shards <= 0) throw new RangeError(`shards must be a positive integer, got ${options.shards}`);
  const random = seededRandom(options.seed ?? 1);
  const shardTime = withFittedTail(model.shardMs);
  const draw = (samples: readonly number[]) => samples[Math.floor(random() * samples.length)]!;
  const trials = options.trials ?? 4000;
  const d = options.hedgeDelayMs;
  const latencies = new Array<number>(trials);
  let hedged = 0;
  for (let t = 0; t < trials; t++) {
    let slowest = 0;
    for (let s = 0; s < options.shards; s++) {
      let x = shardTime(random());
      if (d !== null && x > d) {
        hedged += 1;
        x = Math.min(x, d + shardTime(random()));
      }
      if (x > slowest) slowest = x;
    }
    latencies[t] = draw(model.routerMs) + slowest + model.merge.baseMs + model.merge.perShardMs * options.shards;
  }
  latencies.sort((a, b) => a - b);
  return {
    shards: options.shards,
    hedgeDelayMs: d,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    hedgedShare: hedged / (trials * options.shards),
  };
}

const TAIL_FROM = 0.95;

/** u in [0, 1) → a shard time: the samples' quantile below TAIL_FROM, an exponential tail fitted to the excess above it. */
function withFittedTail(samples: readonly number[]): (u: number) => number {
  const sorted = [...samples].sort((a, b) => a - b);
  const threshold = percentile(sorted, TAIL_FROM * 100);
  const excess = sorted.filter((x) => x > threshold).map((x) => x - threshold);
  const meanExcess = excess.length > 0 ? excess.reduce((a, b) => a + b, 0) / excess.length : 0;
  return (u) => {
    if (u < TAIL_FROM) return sorted[Math.floor(u * sorted.length)]!;
    return threshold - meanExcess * Math.log((1 - u) / (1 - TAIL_FROM));
  };
}

/**
 * Least-squares line y = a + b·x (the merge's cost against the shard count), with b ≥ 0: merging
 * more lists never costs less, and a slope made negative by noise between two nearby shard counts
 * (1 and 2 in a small grid) would take milliseconds off every request once it is multiplied by 1,024
 * shards. A negative fit becomes the flat line through the mean.
 */
export function fitLine(points: ReadonlyArray<[number, number]>): { baseMs: number; perShardMs: number } {
  if (points.length === 0) return { baseMs: 0, perShardMs: 0 };
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const b = sxx === 0 ? 0 : points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return b > 0 ? { baseMs: my - b * mx, perShardMs: b } : { baseMs: my, perShardMs: 0 };
}
