import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { freePort } from '../../messaging/index.js';
import { runLoad } from '../../scale/index.js';
import { TestCluster } from '../support/cluster.js';
import { startSci, type RunningSci } from '../support/cli.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';
import { PrometheusProcess } from '../support/prometheus.js';

/*
 * Metrics as an operator gets them: Debian's Prometheus scrapes a running
 * cluster (coordinator, two workers, two shard servers, the API behind its
 * bearer token) while a job runs and a search load goes through the API;
 * the series are then read back through Prometheus's HTTP API and checked
 * against what the test knows happened (tasks, rows, requests).
 */

const TOKEN = 'metrics-test-token-0123456789';

test('Prometheus scrapes the cluster during a job and a search load: task, queue and search-latency series add up', { timeout: 420_000 }, async (t) => {
  const dir = tempDir(t);
  const { passages, embeddings } = await wordnetFixture(dir, 4, { embeddings: true, dim: 64 });
  const indexes = join(dir, 'indexes');
  await runJobLocally(
    { kind: 'index', input: embeddings!, output: indexes, indexes: [{ name: 'hnsw', factory: 'HNSW8,Flat', metric: 'ip' }], bm25: null },
    new FsStorage('/'),
    { threads: 2 },
  );
  const cluster = await TestCluster.start({ dir, workers: 2, metrics: true });
  t.after(() => cluster.stop());
  const processes: RunningSci[] = [];
  t.after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
  });
  const env = (role: 'shard-server' | 'api') => ({ ...cluster.env, ...cluster.roleEnv(role), SCI_LOG__LEVEL: 'warn' });
  const shardTargets: string[] = [];
  for (const shards of ['0,1', '2,3']) {
    const port = await freePort();
    shardTargets.push(`127.0.0.1:${port}`);
    processes.push(
      await startSci(['serve', 'shards', '--index-set', indexes, '--shards', shards], { env: { ...env('shard-server'), SCI_METRICS__PORT: String(port) } }),
    );
  }
  const api = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], { env: { ...env('api'), SCI_API__TOKEN: TOKEN } });
  processes.push(api);
  const { rest } = JSON.parse(api.firstLine) as { rest: string };
  // Without the token the API's /metrics is refused like every other route.
  assert.equal((await fetch(`${rest}/metrics`)).status, 401);

  const prometheus = await PrometheusProcess.start(join(dir, 'prometheus'), [
    ...['coordinator', 'worker'].map((role) => ({
      name: role,
      targets: cluster.metricsTargets.filter((m) => m.role === role).map((m) => m.address),
    })),
    { name: 'shard-server', targets: shardTargets },
    { name: 'api', targets: [new URL(rest).host], bearerToken: TOKEN },
  ]);
  t.after(() => prometheus.stop());
  await prometheus.waitUp(6);

  // A job: fit and encode over 4 shards (8 tasks), while Prometheus scrapes every second.
  const job = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb'), encoder: { kind: 'hashed-tfidf', dim: 64 } });
  assert.equal((await cluster.waitDone(job.id)).state, 'done');
  const tasks = await cluster.tasks(job.id);
  assert.equal(tasks.length, 8);
  // A search load through the API (dense: every search has an encode phase).
  const post = (body: object) =>
    fetch(`${rest}/v1/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    }).then((r) => assert.equal(r.status, 200));
  const load = await runLoad('REST', { clients: 4, seconds: 3 }, (c, i) => post({ index: 'hnsw', query: `dog ${c} ${i}`, k: 10 }));
  assert.equal(load.errors, 0, load.firstError ?? '');
  // A refused request counts under its status.
  await fetch(`${rest}/v1/search`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"index":"nope","query":"x"}' });
  await sleep(3000); // two more scrapes after the last request

  // Tasks: every task counted once by the worker that ran it, and timed by the coordinator.
  assert.equal(await prometheus.scalar('sum(sci_worker_tasks_total{outcome="done"})'), 8);
  assert.equal(await prometheus.scalar('sum(sci_task_duration_seconds_count{state="done"})'), 8);
  assert.equal(await prometheus.scalar('sum(sci_worker_rows_total{stage="encode"})'), 117_791);
  assert.equal(await prometheus.scalar('sum(sci_tasks{state="done"})'), 8);
  assert.equal(await prometheus.scalar('sum(sci_jobs_finished_total{state="done"})'), 1);
  const taskP50 = await prometheus.scalar('histogram_quantile(0.5, sum by (le) (sci_task_duration_seconds_bucket))');
  assert.ok(taskP50 > 0 && taskP50 < 60, `median task ${taskP50} s`);
  // The work queue, from JetStream's consumer: drained after the job.
  assert.equal(await prometheus.scalar('sci_work_queue_pending_messages'), 0);
  assert.equal(await prometheus.scalar('sci_work_queue_ack_pending_messages'), 0);
  assert.equal(await prometheus.scalar('sci_work_queue_redelivered_messages'), 0);
  // Worker pools: one thread each, idle now, busy for part of the run.
  assert.deepEqual(
    (await prometheus.query('sci_worker_pool_threads')).map((s) => s.value),
    [1, 1],
  );
  assert.equal(await prometheus.scalar('sum(sci_worker_busy_threads)'), 0);
  const utilization = await prometheus.scalar('max(max_over_time(sci_worker_pool_utilization[5m]))');
  assert.ok(utilization > 0 && utilization <= 1, `pool utilization ${utilization}`);

  // Search: every load request timed in total, by index, with its phases; shard servers answered each fan-out.
  const hnsw = Math.ceil(load.requests / 2);
  const searches = await prometheus.scalar('sum(sci_search_duration_seconds_count{phase="total"})');
  assert.equal(searches, load.requests, `${searches} searches timed, ${load.requests} sent`);
  assert.ok((await prometheus.scalar('sum(sci_search_duration_seconds_count{phase="total",index="hnsw"})')) >= hnsw - 4);
  assert.equal(
    await prometheus.scalar('sum(sci_search_duration_seconds_count{phase="encode",index="hnsw"})'),
    await prometheus.scalar('sum(sci_search_duration_seconds_count{phase="total",index="hnsw"})'),
  );
  // Each search asks 4 shards (BM25 twice: statistics, then scores).
  const shardAnswers = await prometheus.scalar('sum(sci_shard_requests_total{outcome="answered"})');
  assert.ok(shardAnswers >= 4 * load.requests, `${shardAnswers} shard answers for ${load.requests} searches`);
  const p50 = await prometheus.scalar('histogram_quantile(0.5, sum by (le) (sci_search_duration_seconds_bucket{phase="total"}))');
  const p99 = await prometheus.scalar('histogram_quantile(0.99, sum by (le) (sci_search_duration_seconds_bucket{phase="total"}))');
  assert.ok(p50 > 0.0001 && p50 <= p99 && p99 < 2, `search p50 ${p50} s, p99 ${p99} s`);
  t.diagnostic(
    `search p50 ${(p50 * 1000).toFixed(2)} ms, p99 ${(p99 * 1000).toFixed(2)} ms over ${load.requests} requests; median task ${taskP50.toFixed(2)} s`,
  );
  const shardP50 = await prometheus.scalar('histogram_quantile(0.5, sum by (le) (sci_shard_request_duration_seconds_bucket{op="dense"}))');
  assert.ok(shardP50 > 0 && shardP50 < p99, `shard service p50 ${shardP50} s`);
  assert.equal(await prometheus.scalar('sum(sci_search_missing_shards_total)'), Number.NaN, 'no partial answers, so no series');
  assert.equal(await prometheus.scalar('sum(sci_api_requests_total{route="POST /v1/search",status="200"})'), load.requests);
  assert.equal(await prometheus.scalar('sum(sci_api_requests_total{route="POST /v1/search",status="400"})'), 1);
  // Process metrics of every role.
  for (const role of ['coordinator', 'worker', 'shard-server', 'api']) {
    const rss = await prometheus.query(`process_resident_memory_bytes{role="${role}"}`);
    assert.ok(rss.length > 0 && rss.every((s) => s.value > 20e6 && s.value < 4e9), `${role} RSS ${JSON.stringify(rss)}`);
  }
});
