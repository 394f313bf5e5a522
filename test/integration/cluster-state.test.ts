import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nanos } from 'nats';
import { z } from 'zod';
import { connectNats, NatsServerProcess } from '../../messaging/index.js';
import { consumerDrift, createRecord, getRecord, NAMES, openClusterState, updateRecord, wantedConsumer } from '../../jobs/index.js';

const Counter = z.object({ n: z.number().int() });
/*
 * JetStream state on a real nats-server: the coordinator brings the task
 * stream's consumer to its configured settings instead of assuming them,
 * other roles only bind, and KV records change by compare-and-set without
 * losing an update to a concurrent writer.
 */

test('the consumer plan: only fields that differ are reconciled', () => {
  const wanted = wantedConsumer({ ackWaitMs: 5000, maxDeliver: 3 });
  assert.deepEqual(consumerDrift({ ack_wait: nanos(5000), max_deliver: 3, max_ack_pending: 1000 }, wanted), []);
  assert.deepEqual(consumerDrift({ ack_wait: nanos(30_000), max_deliver: 5, max_ack_pending: 1000 }, wanted), ['ack_wait', 'max_deliver']);
});

test('a managing open reconciles ack wait and max deliveries; a binding open changes nothing', { timeout: 60_000 }, async (t) => {
  const nats = await NatsServerProcess.start();
  const nc = await connectNats({ servers: [nats.url], name: 'state-test' });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  await openClusterState(nc, { manage: true, ackWaitMs: 30_000, maxDeliver: 5 });
  const changes: string[] = [];
  const state = await openClusterState(nc, { manage: true, ackWaitMs: 4000, maxDeliver: 2, onChange: (c) => changes.push(c) });
  const info = await state.jsm.consumers.info(NAMES.taskStream, NAMES.workerConsumer);
  assert.equal(info.config.ack_wait, nanos(4000));
  assert.equal(info.config.max_deliver, 2);
  assert.deepEqual(changes, [`consumer ${NAMES.workerConsumer}: ack_wait ${nanos(30_000)} → ${nanos(4000)}, max_deliver 5 → 2`]);
  const bound: string[] = [];
  await openClusterState(nc, { ackWaitMs: 60_000, maxDeliver: 9, onChange: (c) => bound.push(c) });
  assert.equal((await state.jsm.consumers.info(NAMES.taskStream, NAMES.workerConsumer)).config.ack_wait, nanos(4000));
  assert.deepEqual(bound, []);
});

test('binding before anything exists fails naming what is missing', { timeout: 60_000 }, async (t) => {
  const nats = await NatsServerProcess.start();
  const nc = await connectNats({ servers: [nats.url], name: 'state-test' });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  // A binding role waits (30 s by default) for the coordinator to create the stream; not found stays not found here.
  const started = Date.now();
  await assert.rejects(openClusterState(nc, { waitMs: 2000 }), /the task stream SCI_TASKS does not exist yet: start the coordinator first/);
  assert.ok(Date.now() - started >= 1500, 'it waited for the coordinator before giving up');
  await assert.rejects((await nc.jetstreamManager()).streams.info(NAMES.taskStream), /stream not found/, 'binding created nothing');
});

test('CAS record updates: concurrent writers lose no update; create refuses an existing key', { timeout: 60_000 }, async (t) => {
  const nats = await NatsServerProcess.start();
  const a = await connectNats({ servers: [nats.url], name: 'writer-a' });
  const b = await connectNats({ servers: [nats.url], name: 'writer-b' });
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await nats.stop();
  });
  const sa = await openClusterState(a, { manage: true });
  const sb = await openClusterState(b, {});
  assert.equal(await createRecord(sa.jobs, 'counter', { n: 0 }), true);
  assert.equal(await createRecord(sb.jobs, 'counter', { n: 99 }), false);
  let conflicts = 0;
  const bump = (kv: typeof sa.jobs) =>
    updateRecord(kv, 'counter', Counter, (cur) => {
      conflicts++;
      return { n: (cur?.n ?? 0) + 1 };
    });
  await Promise.all(Array.from({ length: 25 }, (_, i) => bump(i % 2 ? sa.jobs : sb.jobs)));
  assert.equal((await getRecord(sa.jobs, 'counter', Counter))!.value.n, 25);
  assert.ok(conflicts > 25, `writers raced (${conflicts} attempts for 25 updates), and every lost race was retried`);
  // A change that returns null leaves the record alone.
  assert.deepEqual(await updateRecord(sa.jobs, 'counter', Counter, () => null), { n: 25 });
});
