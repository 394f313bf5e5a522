import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitLine, simulateTail } from '../../../scale/index.js';

/*
 * The simulator against closed forms. Per-shard times exponential with mean
 * 1 ms (quantiles drawn exactly): the slowest of N has CDF (1 − e^−x)^N, so
 * its p-quantile is −ln(1 − p^(1/N)). Hedging at d: a shard answers at
 * min(x₁, d + x₂), whose tail beyond d is e^−x · e^−(x−d).
 */

const SAMPLES = 20_000;
// Exact quantiles of Exp(1): the bootstrap draws from the distribution itself.
const exponential = Array.from({ length: SAMPLES }, (_, i) => -Math.log(1 - (i + 0.5) / SAMPLES));
const model = { shardMs: exponential, routerMs: [0], merge: { baseMs: 0, perShardMs: 0 } };
const maxQuantile = (p: number, n: number) => -Math.log(1 - p ** (1 / n));

test('without hedging, a request waits for the slowest of N independent shards', () => {
  for (const shards of [1, 8, 64, 1024]) {
    const got = simulateTail(model, { shards, hedgeDelayMs: null, trials: 20_000, seed: 3 });
    for (const [p, value] of [
      [0.5, got.p50Ms],
      [0.99, got.p99Ms],
    ] as const) {
      const want = maxQuantile(p, shards);
      assert.ok(Math.abs(value - want) / want < 0.06, `${shards} shards p${p * 100}: ${value.toFixed(3)} vs ${want.toFixed(3)}`);
    }
    assert.equal(got.hedgedShare, 0);
  }
});

test('hedging at d cuts the per-shard tail to e^-x · e^-(x-d), and the fan-out tail with it', () => {
  const d = -Math.log(0.05); // p95 of Exp(1)
  const shards = 256;
  const plain = simulateTail(model, { shards, hedgeDelayMs: null, trials: 20_000, seed: 5 });
  const hedged = simulateTail(model, { shards, hedgeDelayMs: d, trials: 20_000, seed: 5 });
  // One hedged shard: P(T > x) = e^-x for x ≤ d, e^-x · e^-(x-d) beyond; the slowest of N: solve (1 − S(x))^N = p.
  const quantile = (p: number) => {
    const survival = 1 - p ** (1 / shards);
    return survival >= 0.05 ? -Math.log(survival) : (d - Math.log(survival)) / 2;
  };
  assert.ok(Math.abs(hedged.p50Ms - quantile(0.5)) / quantile(0.5) < 0.06, `p50 ${hedged.p50Ms} vs ${quantile(0.5)}`);
  assert.ok(Math.abs(hedged.p99Ms - quantile(0.99)) / quantile(0.99) < 0.08, `p99 ${hedged.p99Ms} vs ${quantile(0.99)}`);
  assert.ok(hedged.p99Ms < 0.7 * plain.p99Ms, `hedged p99 ${hedged.p99Ms} vs ${plain.p99Ms}`);
  assert.ok(Math.abs(hedged.hedgedShare - 0.05) < 0.005, `hedged share ${hedged.hedgedShare}`);
});

test('router time and the merge add on; a line fits the merge; bad models are refused', () => {
  const withCosts = simulateTail({ ...model, routerMs: [2], merge: { baseMs: 0.5, perShardMs: 0.01 } }, { shards: 100, hedgeDelayMs: null, seed: 1 });
  const bare = simulateTail(model, { shards: 100, hedgeDelayMs: null, seed: 1 });
  assert.ok(Math.abs(withCosts.p50Ms - bare.p50Ms - 3.5) < 1e-9);
  assert.deepEqual(
    fitLine([
      [1, 1],
      [2, 1.5],
      [4, 2.5],
    ]),
    { baseMs: 0.5, perShardMs: 0.5 },
  );
  // Noise can make the merge look cheaper at 2 shards than at 1; the line stays flat then.
  assert.deepEqual(
    fitLine([
      [1, 0.3],
      [2, 0.2],
    ]),
    { baseMs: 0.25, perShardMs: 0 },
  );
  assert.throws(() => simulateTail({ ...model, shardMs: [] }, { shards: 4, hedgeDelayMs: null }), /needs shard and router samples/);
  assert.throws(() => simulateTail(model, { shards: 0, hedgeDelayMs: null }), /shards must be a positive integer/);
});
