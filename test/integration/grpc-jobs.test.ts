import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { connectNats, NatsServerProcess } from '../../messaging/index.js';
import { createRecord, openClusterState, updateRecord, JobSpecSchema, type JobRecord, JobRecordSchema } from '../../jobs/index.js';
import { loadSciProto, startGrpcServer } from '../../api/grpc.js';
import type { SearchService } from '../../search/index.js';
import type { Job__Output } from '../../api/grpc-types/sci/v1/Job.js';

/*
 * gRPC Jobs: GetJob, and WatchJob streaming every change of a job record in
 * the cluster's KV until it is done. (Search is not used here: the API's
 * search service is a placeholder.)
 */

test('gRPC WatchJob streams a job until it is done; GetJob answers NOT_FOUND for an unknown id', { timeout: 60_000 }, async (t) => {
  const nats = await NatsServerProcess.start();
  t.after(() => nats.stop({ clean: true }));
  const nc = await connectNats({ servers: [nats.url], name: 'grpc-jobs-test' });
  t.after(() => nc.close());
  const state = await openClusterState(nc, { manage: true });
  const noSearch = { router: { indexSet: { key: 'none', names: [] }, shards: [] } } as unknown as SearchService;
  const server = await startGrpcServer(
    { search: noSearch, state },
    { host: '127.0.0.1', port: 0, token: null, maxRequestBytes: 1 << 20, logger: pino({ level: 'silent' }) },
  );
  const Jobs = loadSciProto().Jobs;
  const client = new Jobs(server.address, grpc.credentials.createInsecure());
  t.after(async () => {
    client.close();
    await server.close();
  });
  const now = new Date().toISOString();
  const job: JobRecord = {
    id: 'job-watch-1',
    spec: JobSpecSchema.parse({ kind: 'index', input: null, output: '/tmp/x', indexes: [], bm25: { passages: '/tmp/p', k1: 0.9, b: 0.4 } }),
    state: 'running',
    stages: ['index'],
    stage: 0,
    shards: 4,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    outputManifest: null,
    error: null,
  };
  await createRecord(state.jobs, job.id, job);

  const states: string[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    const stream = client.watchJob({ id: job.id });
    stream.on('data', (m) => {
      states.push(m.state);
      if (states.length === 1)
        void updateRecord<JobRecord>(state.jobs, job.id, JobRecordSchema, (cur) =>
          cur ? { ...cur, state: 'done', outputManifest: '/tmp/x/manifest.json', finishedAt: new Date().toISOString() } : null,
        );
    });
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  await ended;
  assert.deepEqual(states, ['running', 'done']);

  const got = await new Promise<Job__Output>((resolve, reject) => client.getJob({ id: job.id }, (err, res) => (err || !res ? reject(err) : resolve(res))));
  assert.deepEqual([got.id, got.state, got.outputManifest], [job.id, 'done', '/tmp/x/manifest.json']);
  await assert.rejects(
    new Promise((resolve, reject) => client.getJob({ id: 'no-such-job' }, (err, res) => (err ? reject(err) : resolve(res)))),
    (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND,
  );
});
