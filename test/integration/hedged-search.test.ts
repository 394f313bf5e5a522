import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RequestStrategy } from 'nats';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { DEFAULT_HEDGE_POLICY, SearchService, SERVERS_SUBJECT } from '../../search/index.js';
import { percentile } from '../../eval/index.js';
import { TestCluster } from '../support/cluster.js';
import { splitQueryTexts, wordnetFixture } from '../support/wordnet-fixture.js';
import { tempDir } from '../support/paths.js';

/*
 * Hedged requests against a stalled replica: two shard-server processes
 * serve every shard (replicas in the shard queue group) on a cluster with
 * TLS and per-role nkeys; one is stopped with SIGSTOP. Without hedging, the
 * requests the queue group gives the stopped replica wait for the deadline
 * and come back partial; with hedging every search is whole, because after
 * the p95 of the shard's answer times the request goes to every replica.
 */

test('hedged requests: with one replica stopped (SIGSTOP), every search is whole; without, searches wait for the deadline', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t, 'sci-hedge-');
  const { passages, embeddings } = await wordnetFixture(dir, 2, { embeddings: true, dim: 32 });
  const indexes = join(dir, 'indexes');
  const storage = new FsStorage('/');
  await runJobLocally({ kind: 'index', input: embeddings!, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }] }, storage, {
    threads: 2,
  });
  const cluster = await TestCluster.start({ dir, workers: 0 });
  t.after(() => cluster.stop());
  const replicas = [cluster.spawnSci(['serve', 'shards', '--index-set', indexes]), cluster.spawnSci(['serve', 'shards', '--index-set', indexes])];
  t.after(() => {
    for (const r of replicas) if (r.exitCode === null) r.kill('SIGCONT');
  });
  const nc = await cluster.connectAs('api');
  t.after(() => nc.close());
  // Both replicas answer the roll call once they serve (no responders yet: NATS says 503).
  const rollCall = async () => {
    let answered = 0;
    try {
      for await (const _ of await nc.requestMany(SERVERS_SUBJECT, new Uint8Array(), { strategy: RequestStrategy.Timer, maxWait: 300 })) answered += 1;
    } catch (err) {
      if ((err as { code?: string }).code !== '503') throw err;
      await new Promise((r) => setTimeout(r, 300));
    }
    return answered;
  };
  while ((await rollCall()) < 2)
    assert.ok(
      replicas.every((r) => r.exitCode === null),
      cluster.logs(),
    );
  const open = (hedge: boolean, deadlineMs: number) =>
    SearchService.open({ nc, storage, indexSet: indexes, deadlineMs, ...(hedge ? { hedge: DEFAULT_HEDGE_POLICY } : {}) });
  const hedgedService = await open(true, 3000);
  const plainService = await open(false, 1000);
  t.after(() => {
    hedgedService.close();
    plainService.close();
  });
  const queries = splitQueryTexts(passages).slice(0, 172);
  const run = async (service: SearchService, texts: string[]) => {
    const times: number[] = [];
    let partial = 0;
    for (const text of texts) {
      const started = performance.now();
      const answer = await service.search({ index: 'flat', queries: [text], k: 10 });
      times.push(performance.now() - started);
      if (answer.partial) partial += 1;
    }
    times.sort((a, b) => a - b);
    return { partial, p50: percentile(times, 50), p99: percentile(times, 99), max: times.at(-1)! };
  };

  // Warm-up with both replicas running: the router learns each shard's answer times.
  const warm = await run(hedgedService, queries.slice(0, 100));
  assert.equal(warm.partial, 0);
  replicas[0]!.kill('SIGSTOP');
  const withHedging = await run(hedgedService, queries.slice(100, 160));
  const withoutHedging = await run(plainService, queries.slice(160, 172));
  replicas[0]!.kill('SIGCONT');
  const fmt = (r: { p50: number; p99: number; partial: number }) => `p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.partial} partial`;
  t.diagnostic(`both replicas up: ${fmt(warm)}`);
  t.diagnostic(
    `one replica stopped, hedged at the shard's p95: ${fmt(withHedging)} (${hedgedService.router.hedges.sent} hedges sent, ${hedgedService.router.hedges.won} answered first)`,
  );
  t.diagnostic(`one replica stopped, no hedging (deadline 1000 ms): ${fmt(withoutHedging)}`);
  assert.equal(withHedging.partial, 0, 'hedging answers every search in full');
  assert.ok(withHedging.max < 1000, `slowest hedged search ${withHedging.max.toFixed(0)} ms`);
  assert.ok(hedgedService.router.hedges.won > 0, 'the hedges answered the requests the stopped replica held');
  // Without hedging, the requests the queue group hands to the stopped replica (about half) run into the deadline.
  assert.ok(withoutHedging.partial > 0, 'no hedging: some searches come back partial');
  assert.ok(withoutHedging.max >= 1000, `slowest unhedged search ${withoutHedging.max.toFixed(0)} ms`);
});
