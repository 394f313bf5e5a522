import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';

/*
 * Failures that must end a job with the reason, and a graceful worker stop.
 */

test('a fatal task error terminates the task and fails the job with the reason', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const { embeddings } = await wordnetFixture(dir, 2, { embeddings: true, dim: 16, input: wordnetParts(dir, ['adv']) });
  const cluster = await TestCluster.start({ dir, workers: 1 });
  t.after(() => cluster.stop());
  // A dual-view index of a one-tower embedding set (the shard's file has no query view): no retry can fix that.
  // (What the coordinator can size from the manifest, such as more lists than rows, is refused at submit.)
  const job = await cluster.submit({
    kind: 'index',
    input: embeddings,
    output: join(dir, 'idx'),
    indexes: [{ name: 'ivf', factory: 'IVF64,Flat', metric: 'ip', dualView: true }],
  });
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'failed');
  assert.match(done.error ?? '', /cannot build ivf \(IVF64,Flat\).*two-tower/);
  const tasks = await cluster.tasks(job.id);
  assert.ok(
    tasks.some((task) => task.state === 'failed' && task.deliveries === 1),
    'fatal errors are not retried',
  );
});

test('a task over its delivery limit fails the job with that reason', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  // The workers crash before reading a row: the smallest real corpus will do.
  const { passages } = await wordnetFixture(dir, 1, { input: wordnetParts(dir, ['adv']) });
  const cluster = await TestCluster.start({ dir, workers: 0, maxDeliver: 2, ackWaitMs: 1500 });
  t.after(() => cluster.stop());
  const exitOf = (child: ReturnType<typeof cluster.startWorker>) => new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
  const within = async (what: string, exited: Promise<boolean>) =>
    assert.ok(await Promise.race([exited, sleep(45_000).then(() => false)]), `${what}; logs:\n${cluster.logs()}`);
  const first = cluster.startWorker({ SCI_FAULT_CRASH_AT: 'task-start' });
  const firstExit = exitOf(first);
  const job = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
  await within('the first worker did not crash on delivery 1', firstExit);
  const second = cluster.startWorker({ SCI_FAULT_CRASH_AT: 'task-start' });
  await within('the second worker did not crash on delivery 2', exitOf(second));
  // JetStream reports the exhausted task when it would deliver it again: to a worker pulling.
  cluster.startWorker();
  const done = await cluster.waitDone(job.id, 60_000);
  assert.equal(done.state, 'failed');
  assert.match(done.error ?? '', /no worker finished it in 2 deliveries/);
});

test('SIGTERM drains a worker: its running task finishes and is acked, then it exits 0', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  // Verbs and adverbs: a task runs for seconds (long enough to be stopped in), the job's rest not for a minute.
  const { passages, embeddings } = await wordnetFixture(dir, 6, { embeddings: true, dim: 64, input: wordnetVerbsAndAdverbs(dir) });
  const cluster = await TestCluster.start({ dir, workers: 1 });
  t.after(() => cluster.stop());
  const worker = cluster.workers[0]!;
  const job = await cluster.submit({
    kind: 'index',
    input: embeddings,
    output: join(dir, 'idx'),
    indexes: [{ name: 'hnsw', factory: 'HNSW16,Flat', metric: 'ip' }],
    bm25: { passages },
  });
  await cluster.waitFor(job.id, (_j, tasks) => tasks.some((x) => x.state === 'running'));
  const exit = new Promise<string>((resolve) => worker.once('exit', (code, signal) => resolve(`${code}/${signal}`)));
  worker.kill('SIGTERM');
  assert.equal(await exit, '0/null', cluster.logs());
  const tasks = await cluster.tasks(job.id);
  const finished = tasks.filter((x) => x.state === 'done');
  assert.equal(finished.length, 1, 'the running task was finished, not abandoned');
  assert.equal(finished[0]!.deliveries, 1);
  cluster.startWorker();
  assert.equal((await cluster.waitDone(job.id)).state, 'done');
});

test(
  'SIGTERM past its grace cancels the running task: it stops between batches, is handed back, and finishes on another worker',
  { timeout: 180_000 },
  async (t) => {
    const dir = tempDir(t);
    const { passages } = await wordnetFixture(dir, 1);
    const cluster = await TestCluster.start({ dir, workers: 0 });
    t.after(() => cluster.stop());
    const worker = cluster.spawnSci(['worker', 'run', '--threads', '1', '--grace-ms', '200']);
    const job = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb'), encoder: { kind: 'hashed-tfidf', dim: 64 } });
    await cluster.waitFor(job.id, (_j, tasks) => tasks.some((x) => x.stage === 'encode' && x.state === 'running'));
    const exit = new Promise<string>((resolve) => worker.once('exit', (code, signal) => resolve(`${code}/${signal}`)));
    worker.kill('SIGTERM');
    assert.equal(await exit, '0/null', cluster.logs());
    const encode = (await cluster.tasks(job.id)).find((x) => x.stage === 'encode')!;
    assert.equal(encode.state, 'queued', JSON.stringify(encode));
    assert.match(encode.error ?? '', /handed back: .*cancelled/);
    assert.match(cluster.logs(), /task cancelled by the stop and handed back/);
    assert.equal((await cluster.job(job.id))!.state, 'running');
    cluster.startWorker();
    const done = await cluster.waitDone(job.id);
    assert.equal(done.state, 'done', done.error ?? '');
  },
);
