import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hedged, ShardLatencies, type HedgeCounters } from '../../../search/hedging.js';

const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const failAfter = (ms: number, message: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms));

test('a hedge goes out only when the first request is still pending after the delay; the first answer wins', async () => {
  const counters: HedgeCounters = { sent: 0, won: 0 };
  let hedges = 0;
  const hedge = (ms: number, value: string) => () => ((hedges += 1), after(ms, value));
  assert.equal(await hedged(after(5, 'first'), null, hedge(1, 'hedge'), counters), 'first', 'no delay known: never hedged');
  assert.equal(await hedged(after(5, 'first'), 50, hedge(1, 'hedge'), counters), 'first', 'answered before the delay');
  assert.equal(hedges, 0);
  assert.equal(await hedged(after(200, 'first'), 10, hedge(5, 'hedge'), counters), 'hedge', 'a stalled first request');
  assert.equal(await hedged(after(30, 'first'), 10, hedge(200, 'hedge'), counters), 'first', 'the first still wins when it answers first');
  assert.deepEqual(counters, { sent: 2, won: 1 });
});

test('failures: before the hedge the first error is the answer; after it, only both failing fails', async () => {
  const counters: HedgeCounters = { sent: 0, won: 0 };
  await assert.rejects(
    hedged(failAfter(1, 'no server'), 50, () => after(1, 'hedge'), counters),
    /no server/,
  );
  assert.equal(counters.sent, 0);
  assert.equal(await hedged(failAfter(30, 'timeout'), 10, () => after(50, 'hedge'), counters), 'hedge', 'the hedge outlives a failed first request');
  assert.equal(await hedged(after(60, 'first'), 10, () => failAfter(1, 'no hedge listeners'), counters), 'first', 'a failed hedge waits for the first');
  await assert.rejects(
    hedged(failAfter(30, 'timeout'), 10, () => failAfter(40, 'hedge timeout'), counters),
    /^Error: timeout$/,
  );
});

test('the hedge delay is the percentile of the shard’s recent answer times, once enough were seen', () => {
  const latencies = new ShardLatencies({ percentile: 90, minSamples: 10, window: 20 });
  for (let i = 1; i <= 9; i++) latencies.record(0, i);
  assert.equal(latencies.delayFor(0), null, '9 answers: too few');
  latencies.record(0, 10);
  assert.equal(latencies.delayFor(0), 9, 'p90 of 1..10');
  assert.equal(latencies.delayFor(1), null, 'another shard has its own times');
  // The window keeps the newest 20: old slow answers age out.
  for (let i = 0; i < 20; i++) latencies.record(0, 100);
  assert.equal(latencies.delayFor(0), 100);
  for (let i = 0; i < 20; i++) latencies.record(0, 3);
  assert.equal(latencies.delayFor(0), 3);
  // Each kind of request has its own window: slow Flat scans do not set the delay of fast graph searches.
  for (let i = 0; i < 20; i++) latencies.record(0, 50, 'dense:flat');
  for (let i = 0; i < 20; i++) latencies.record(0, 2, 'dense:hnsw');
  assert.deepEqual([latencies.delayFor(0, 'dense:flat'), latencies.delayFor(0, 'dense:hnsw'), latencies.delayFor(0, 'bm25')], [50, 2, null]);
});
