import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { loadSciProto } from '../../api/grpc.js';
import type { TaskRecord } from '../../jobs/index.js';
import { TestCluster } from '../support/cluster.js';
import { runSci, startSci } from '../support/cli.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';
import { OpenApiCheck } from '../support/openapi.js';

/*
 * Job control on a real cluster (TLS and per-role nkeys, a coordinator, one
 * worker so tasks run one after another): a job cancelled mid-run ends
 * `cancelled` within seconds with no task left running (the running one
 * stopped by its worker, the queued ones never run), `sci job logs` shows
 * every shard with its reason, and a retry runs only the shards that did not
 * finish. The same operations over REST and gRPC, with their errors.
 */

const TOKEN = 'job-control-token-0123456789';

test('cancel stops a running job within seconds; retry completes only the unfinished shards; over the CLI, REST and gRPC', { timeout: 420_000 }, async (t) => {
  const dir = tempDir(t);
  const { passages, embeddings } = await wordnetFixture(dir, 6, { embeddings: true, dim: 64 });
  // The API needs an index set to serve; job control does not depend on which.
  const served = join(dir, 'served');
  await runJobLocally(
    { kind: 'index', input: embeddings!, output: served, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }], bm25: null },
    new FsStorage('/'),
    {
      threads: 2,
    },
  );
  const cluster = await TestCluster.start({ dir, workers: 1 });
  t.after(() => cluster.stop());
  const cliEnv = { ...cluster.env, ...cluster.roleEnv('cli'), SCI_LOG__LEVEL: 'warn' };
  const api = await startSci(['serve', 'api', '--index-set', served, '--port', '0', '--grpc-port', '0'], {
    env: { ...cluster.env, ...cluster.roleEnv('api'), SCI_LOG__LEVEL: 'warn', SCI_API__TOKEN: TOKEN },
  });
  t.after(() => api.stop('SIGKILL'));
  const { rest, grpc: grpcAddress } = JSON.parse(api.firstLine) as { rest: string; grpc: string };
  const call = async (method: 'GET' | 'POST', path: string) => {
    const res = await fetch(`${rest}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const proto = loadSciProto();
  const JobsClient = proto.Jobs;
  const jobs = new JobsClient(grpcAddress, grpc.credentials.createInsecure());
  t.after(() => jobs.close());
  const rpc = (method: string, id: string) =>
    new Promise<any>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${TOKEN}`);
      (jobs as any)[method]({ id }, md, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
    });

  // 1. Cancelled mid-run through the CLI: one shard done, one running, four queued.
  const spec = {
    kind: 'index' as const,
    input: embeddings!,
    output: join(dir, 'indexes'),
    indexes: [
      { name: 'hnsw', factory: 'HNSW16,Flat', metric: 'ip' as const },
      { name: 'ivf', factory: 'IVF64,Flat', metric: 'ip' as const, nprobe: 8 },
    ],
    bm25: { passages },
  };
  const job = await cluster.submit(spec);
  let runningShard = -1;
  await cluster.waitFor(job.id, (_j, tasks) => {
    runningShard = tasks.find((x) => x.state === 'running')?.shardId ?? -1;
    return tasks.some((x) => x.state === 'done') && runningShard >= 0;
  });
  const cancelledAt = Date.now();
  const cancel = await runSci(['job', 'cancel', job.id], { env: cliEnv });
  const cancelSeconds = (Date.now() - cancelledAt) / 1000;
  assert.equal(cancel.code, 0, `${cancel.stdout}\n${cancel.stderr}\n${cluster.logs()}`);
  assert.match(cancel.stdout, new RegExp(`^${job.id}: cancelled \\(\\d+ task\\(s\\) done, \\d+ cancelled\\)$`, 'm'));
  // 3 s on an idle 2-core machine (the CLI's start included); the bound leaves room for a loaded CI box.
  assert.ok(cancelSeconds < 30, `cancelled and settled in ${cancelSeconds.toFixed(1)} s`);
  t.diagnostic(`cancel settled in ${cancelSeconds.toFixed(1)} s`);
  assert.equal((await cluster.job(job.id))!.state, 'cancelled');
  const afterCancel = await cluster.tasks(job.id);
  assert.deepEqual(
    afterCancel.filter((x) => x.state === 'running'),
    [],
    'no task left running',
  );
  const doneBefore = afterCancel.filter((x) => x.state === 'done');
  const cancelled = afterCancel.filter((x) => x.state === 'cancelled');
  assert.ok(doneBefore.length >= 1 && cancelled.length >= 1, JSON.stringify(afterCancel.map((x) => [x.shardId, x.state])));
  assert.equal(doneBefore.length + cancelled.length, 6);
  assert.ok(cancelled.every((x) => /cancelled with its job (while running|before it ran)/.test(x.error ?? '')));
  // The shard that was running stopped there (or had just finished); none of the others ran.
  const wasRunning = afterCancel.find((x) => x.shardId === runningShard)!;
  t.diagnostic(`shard ${runningShard}, running at the cancel: ${wasRunning.state}${wasRunning.error ? ` (${wasRunning.error})` : ''}`);
  assert.ok(wasRunning.state === 'done' || wasRunning.error === 'cancelled with its job while running', JSON.stringify(wasRunning));
  // The worker stopped the task it was running and is idle: nothing runs a few seconds later either.
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual((await cluster.tasks(job.id)).map((x) => x.state).sort(), afterCancel.map((x) => x.state).sort());
  await cluster.waitForLog(/job cancelled: stopping its tasks|cancelled with its job/);

  // Its logs: every shard with its state and reason.
  const logs = await runSci(['job', 'logs', job.id], { env: cliEnv });
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, new RegExp(`^${job.id}  index  cancelled`, 'm'));
  for (const task of afterCancel) assert.match(logs.stdout, new RegExp(`shard +${task.shardId}  ${task.state}`));
  assert.match(logs.stdout, /cancelled with its job/);
  const restLogs = await call('GET', `/v1/jobs/${job.id}/logs`);
  assert.equal(restLogs.status, 200);
  assert.deepEqual(
    (restLogs.body.tasks as TaskRecord[]).map((x) => [x.shardId, x.state]),
    [...afterCancel].sort((a, b) => a.shardId - b.shardId).map((x) => [x.shardId, x.state]),
  );

  // 2. Retried over REST: only the cancelled shards run again (a second worker joins to share them); the finished ones keep their records.
  cluster.startWorker();
  const retried = await call('POST', `/v1/jobs/${job.id}/retry`);
  assert.equal(retried.status, 200, JSON.stringify(retried.body));
  assert.equal(retried.body.attempt, 1);
  const finished = await cluster.waitDone(job.id);
  assert.equal(finished.state, 'done', finished.error ?? '');
  const afterRetry = await cluster.tasks(job.id);
  for (const before of doneBefore) {
    const now = afterRetry.find((x) => x.shardId === before.shardId)!;
    assert.deepEqual([now.startedAt, now.finishedAt, now.worker], [before.startedAt, before.finishedAt, before.worker], `shard ${before.shardId} not redone`);
  }
  for (const before of cancelled) {
    const now = afterRetry.find((x) => x.shardId === before.shardId)!;
    assert.equal(now.state, 'done');
    assert.ok(Date.parse(now.startedAt!) >= cancelledAt, `shard ${before.shardId} ran again after the retry`);
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'indexes', 'manifest.json'), 'utf8')) as { shards: unknown[]; rowsIn: number };
  assert.equal(manifest.shards.length, 6);
  assert.equal(manifest.rowsIn, 117_791);

  // 3. Over gRPC: a job cancelled before it ran, its logs, its retry; and the errors of both fronts.
  const second = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb2'), encoder: { kind: 'hashed-tfidf', dim: 32 } });
  const viaGrpc = await rpc('cancelJob', second.id);
  assert.equal(viaGrpc.state, 'cancelled');
  await cluster.waitFor(second.id, (_j, tasks) => tasks.every((x) => x.state !== 'running' && x.state !== 'queued'), 30_000);
  const grpcLogs = await rpc('getJobLogs', second.id);
  assert.equal(grpcLogs.job.state, 'cancelled');
  assert.ok(grpcLogs.tasks.length > 0 && grpcLogs.tasks.every((x: { state: string; error: string }) => x.state !== 'running'));
  assert.match((await rpc('retryJob', second.id)).state, /^(planning|running)$/);
  assert.equal((await cluster.waitDone(second.id)).state, 'done');
  await assert.rejects(
    rpc('cancelJob', second.id),
    (err: grpc.ServiceError) => err.code === grpc.status.FAILED_PRECONDITION && /already done/.test(err.details),
  );
  await assert.rejects(rpc('retryJob', 'job-nope'), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  const doneAgain = await call('POST', `/v1/jobs/${job.id}/cancel`);
  assert.equal(doneAgain.status, 409);
  assert.match(doneAgain.body.error.message, /is already done/);
  const retryDone = await call('POST', `/v1/jobs/${job.id}/retry`);
  assert.equal(retryDone.status, 409);
  assert.match(retryDone.body.error.message, /only a failed or cancelled job can be retried/);
  assert.equal((await call('GET', '/v1/jobs/job-nope/logs')).status, 404);
  assert.equal((await call('POST', '/v1/jobs/job-nope/cancel')).status, 404);
  // Every route of the generated OpenAPI document answers, with a status it documents and a body matching its schema.
  const openapi = await OpenApiCheck.of(await (await fetch(`${rest}/v1/openapi.json`, { headers: { authorization: `Bearer ${TOKEN}` } })).json());
  const samples: Record<string, { body?: unknown; id?: string; status: number }> = {
    'POST /v1/search': { body: { index: 'flat', query: 'a dog', k: 3, fields: ['title', 'text'] }, status: 200 },
    'POST /v1/encode': { body: { texts: ['a dog'] }, status: 200 },
    'GET /v1/jobs/{id}': { id: job.id, status: 200 },
    'POST /v1/jobs/{id}/cancel': { id: job.id, status: 409 },
    'POST /v1/jobs/{id}/retry': { id: 'job-nope', status: 404 },
    'GET /v1/jobs/{id}/logs': { id: second.id, status: 200 },
  };
  const called: string[] = [];
  for (const { method, path } of openapi.routes()) {
    const key = `${method} ${path}`;
    const sample = samples[key] ?? { status: 200 };
    const url = `${rest}${path.replace('{id}', sample.id ?? 'job-nope')}`;
    // The dashboard's sign-in is a form post; everything else takes JSON.
    const signIn = method === 'POST' && path === '/ui';
    const res = await fetch(url, {
      method,
      redirect: 'manual',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(signIn ? { 'content-type': 'application/x-www-form-urlencoded' } : sample.body ? { 'content-type': 'application/json' } : {}),
      },
      ...(signIn ? { body: `token=${encodeURIComponent(TOKEN)}` } : sample.body ? { body: JSON.stringify(sample.body) } : {}),
    });
    const type = res.headers.get('content-type') ?? '';
    // The event stream never ends: its first event is enough.
    const body = type.startsWith('application/json') ? await res.json() : type.startsWith('text/event-stream') ? await firstEvent(res) : await res.text();
    const status = path === '/ui' && res.status === 303 ? 200 : res.status; // the sign-in redirect to the page
    assert.equal(status, sample.status, `${key}: ${JSON.stringify(body).slice(0, 300)}${status >= 500 ? `\n${api.stderr()}` : ''}`);
    openapi.assertAnswer(method, path, status, type.startsWith('application/json') ? body : undefined);
    if (path === '/v1/events') assert.match(body as string, /^event: snapshot\ndata: \{"jobs":\[/);
    called.push(key);
  }
  assert.ok(called.length >= 15, `${called.length} routes called: ${called.join(', ')}`);
  const cliMissing = await runSci(['job', 'cancel', 'job-nope'], { env: cliEnv });
  assert.equal(cliMissing.code, 1);
  assert.match(cliMissing.stderr, /no job job-nope/);
});

/** The first server-sent event of a stream, then the stream is closed. */
async function firstEvent(res: Response): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  return text;
}
