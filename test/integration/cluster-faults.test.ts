import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readManifest } from '../../shards/index.js';
import type { JobSpecInput, TaskRecord } from '../../jobs/index.js';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts } from '../support/wordnet-fixture.js';

/*
 * Faults are normal: a worker killed at several points of a task, the
 * coordinator killed and restarted, nats-server restarted, a node of a
 * 3-node NATS cluster killed, a record write slower than the ack wait.
 * Every job must complete with each shard exactly once in its output
 * manifest and the row counts adding up.
 */

let fixtureDir = '';
let passages = '';
let embeddings = '';
let passageRows = 0;

before(async () => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'sci-faults-'));
  ({ passages, embeddings } = (await wordnetFixture(fixtureDir, 8, { embeddings: true, dim: 64 })) as { passages: string; embeddings: string });
  passageRows = readManifest(passages).manifest.rowsWritten;
});

after(() => rmSync(fixtureDir, { recursive: true, force: true }));

function manifestOf(dir: string): { rowsIn: number; rowsWritten: number; rowsRejected: number; shards: Array<{ id: number; rows: number }> } {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
}

function assertComplete(output: string): void {
  const manifest = manifestOf(output);
  assert.deepEqual(
    manifest.shards.map((s) => s.id),
    [0, 1, 2, 3, 4, 5, 6, 7],
    'every shard exactly once',
  );
  assert.equal(manifest.rowsIn, passageRows);
  assert.equal(manifest.rowsIn, manifest.rowsWritten + manifest.rowsRejected);
  assert.equal(
    manifest.shards.reduce((s, x) => s + x.rows, 0),
    passageRows,
  );
}

/** An index job whose tasks take a few seconds each (HNSW build and BM25 per shard). */
const slowIndexJob = (output: string): JobSpecInput => ({
  kind: 'index',
  input: embeddings,
  output,
  indexes: [{ name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip' }],
  bm25: { passages },
});

test('a worker killed with SIGKILL at several points of a task: the job completes, shards once, rows add up', { timeout: 300_000 }, async (t) => {
  const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: fixtureDir, workers: 0 });
  t.after(() => cluster.stop());
  for (const point of ['task-start', 'before-publish', 'before-ack']) {
    const crashing = cluster.startWorker({ SCI_FAULT_CRASH_AT: point });
    const crashed = new Promise((resolve) => crashing.once('exit', () => resolve(true)));
    const output = join(fixtureDir, `encode-crash-${point}`);
    const job = await cluster.submit({ kind: 'encode', input: passages, output, encoder: { kind: 'hashed-tfidf', dim: 32 } });
    // The crashing worker takes the first task and dies; then a healthy one joins.
    const exited = await Promise.race([crashed, sleep(60_000).then(() => false)]);
    assert.ok(exited, `worker did not crash at ${point}; logs:\n${cluster.logs()}`);
    assert.equal(crashing.signalCode, 'SIGKILL', `worker should have crashed at ${point}`);
    const healthy = cluster.startWorker();
    const done = await cluster.waitDone(job.id);
    assert.equal(done.state, 'done', `${point}: ${done.error}`);
    assertComplete(output);
    const tasks = await cluster.tasks(job.id);
    if (point === 'before-ack') {
      // Recorded done, then killed before the ack: the redelivery is acked without rerunning it.
      const byDead = tasks.filter((task: TaskRecord) => task.worker?.includes(`-${crashing.pid}-`));
      assert.equal(byDead.length, 1);
      assert.equal(byDead[0]!.state, 'done');
    } else {
      assert.ok(
        tasks.some((task: TaskRecord) => task.deliveries >= 2),
        `${point}: a task was redelivered`,
      );
    }
    await cluster.kill(healthy, 'SIGTERM');
  }
});

test('a running-record write slower than the ack wait: the heartbeat covers it, the task runs once', { timeout: 180_000 }, async (t) => {
  // One task, two workers; heartbeats every 667 ms, and each delivery waits 3 s before recording its task
  // running (a quorum write on a loaded, replicated cluster). Were that wait outside the heartbeat, the
  // delivery would expire, the other worker would take the task too, find no finished record yet,
  // and run it a second time.
  const dir = tempDir(t);
  const { passages: adverbs } = await wordnetFixture(dir, 1, { input: wordnetParts(dir, ['adv']) });
  const cluster = await TestCluster.start({ dir, workers: 0, ackWaitMs: 2000 });
  t.after(() => cluster.stop());
  for (let i = 0; i < 2; i++) cluster.startWorker({ SCI_FAULT_SLOW_RUNNING_RECORD_MS: '3000' });
  await cluster.waitForWorkers(2);
  const job = await cluster.submit({ kind: 'index', input: null, output: join(dir, 'bm25'), bm25: { passages: adverbs } });
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'done', `${done.error}\n${cluster.logs()}`);
  // A second delivery would be waiting out its own 3 s now: past it, its run would show in the record.
  await sleep(4000);
  const tasks = await cluster.tasks(job.id);
  assert.deepEqual(
    tasks.map((task) => [task.shardId, task.state, task.deliveries]),
    [[0, 'done', 1]],
  );
});

test('the coordinator killed and restarted mid-job: the job resumes, finished shards are not redone', { timeout: 300_000 }, async (t) => {
  const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: fixtureDir, workers: 2 });
  t.after(() => cluster.stop());
  const output = join(fixtureDir, 'index-coordinator-restart');
  const job = await cluster.submit(slowIndexJob(output));
  await cluster.waitFor(job.id, (_j, tasks) => tasks.filter((x) => x.state === 'done').length >= 2);
  await cluster.kill(cluster.coordinator!);
  const doneBefore = (await cluster.tasks(job.id)).filter((x) => x.state === 'done');
  await sleep(1500);
  cluster.startCoordinator();
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'done', done.error ?? '');
  assertComplete(output);
  const after = new Map((await cluster.tasks(job.id)).map((x) => [x.shardId, x]));
  for (const task of doneBefore) {
    assert.equal(after.get(task.shardId)!.finishedAt, task.finishedAt, `shard ${task.shardId} was redone`);
    assert.equal(after.get(task.shardId)!.deliveries, task.deliveries);
  }
});

test(
  "publishing a job's next stage fails part-way (a NATS node lost mid-election): the sweep plans it again, the job completes",
  { timeout: 300_000 },
  async (t) => {
    // Read by the coordinator only.
    const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: fixtureDir, workers: 1, env: { SCI_FAULT_COORDINATOR_AT: 'stage-publish' } });
    t.after(() => cluster.stop());
    const output = join(fixtureDir, 'encode-stage-publish');
    const job = await cluster.submit({ kind: 'encode', input: passages, output, encoder: { kind: 'hashed-tfidf', dim: 32 } });
    const done = await cluster.waitDone(job.id, 120_000);
    assert.equal(done.state, 'done', done.error ?? '');
    assert.deepEqual(done.stages, ['fit', 'encode']);
    assertComplete(output);
    const tasks = await cluster.tasks(job.id);
    assert.equal(tasks.filter((x) => x.stage === 'encode' && x.state === 'done').length, 8, 'every encode task ran');
  },
);

test('nats-server restarted mid-job (file store): the job completes', { timeout: 300_000 }, async (t) => {
  const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: fixtureDir, workers: 2 });
  t.after(() => cluster.stop());
  const output = join(fixtureDir, 'index-nats-restart');
  const job = await cluster.submit(slowIndexJob(output));
  await cluster.waitFor(job.id, (_j, tasks) => tasks.some((x) => x.state === 'done'));
  await cluster.nats[0]!.kill('SIGKILL');
  await sleep(1000);
  await cluster.nats[0]!.launch();
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'done', done.error ?? '');
  assertComplete(output);
});

test('a 3-node NATS cluster with replicated streams, one node killed mid-job: the job completes', { timeout: 300_000 }, async (t) => {
  const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: fixtureDir, workers: 2, natsNodes: 3 });
  t.after(() => cluster.stop());
  const output = join(fixtureDir, 'index-node-killed');
  const job = await cluster.submit(slowIndexJob(output));
  await cluster.waitFor(job.id, (_j, tasks) => tasks.some((x) => x.state === 'done'));
  await cluster.nats[1]!.kill('SIGKILL');
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'done', done.error ?? '');
  assertComplete(output);
});
