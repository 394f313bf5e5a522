import { AckPolicy, DeliverPolicy, RetentionPolicy, StorageType, nanos, type JetStreamClient, type JetStreamManager, type KV, type NatsConnection, type ObjectStore } from 'nats';
import { retrying } from '../messaging/index.js';
import { NAMES } from './names.js';

/*
 * Creates (idempotently) and opens the JetStream objects the runtime uses:
 * the work-queue stream of tasks with one durable pull consumer shared by
 * all workers, and KV buckets for jobs, tasks and live workers. Replicas > 1
 * on a NATS cluster keep them through the loss of a node.
 */

export interface ClusterStateOptions {
  /** Stream and bucket replicas (1 on a single server, 3 on a 3-node cluster). @defaultValue 1 */
  replicas?: number;
  /** A task not acked nor in progress for this long is redelivered. @defaultValue 30000 */
  ackWaitMs?: number;
  /** Deliveries before a task fails its job. @defaultValue 5 */
  maxDeliver?: number;
}

export interface ClusterState {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  jobs: KV;
  tasks: KV;
  workers: KV;
  options: Required<ClusterStateOptions>;
}

export async function openClusterState(nc: NatsConnection, options: ClusterStateOptions = {}): Promise<ClusterState> {
  const resolved = { replicas: options.replicas ?? 1, ackWaitMs: options.ackWaitMs ?? 30_000, maxDeliver: options.maxDeliver ?? 5 };
  const jsm = await retrying('JetStream', () => nc.jetstreamManager({ timeout: 5000 }));
  const js = nc.jetstream({ timeout: 10_000 });
  await retrying('creating the task stream', async () => {
    const config = { name: NAMES.taskStream, subjects: [NAMES.taskSubjects], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: resolved.replicas, duplicate_window: nanos(120_000) };
    try {
      await jsm.streams.info(NAMES.taskStream);
    } catch {
      await jsm.streams.add(config);
    }
  });
  await retrying('creating the worker consumer', async () => {
    try {
      await jsm.consumers.info(NAMES.taskStream, NAMES.workerConsumer);
    } catch {
      await jsm.consumers.add(NAMES.taskStream, {
        durable_name: NAMES.workerConsumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(resolved.ackWaitMs),
        max_deliver: resolved.maxDeliver,
        max_ack_pending: 1000,
      });
    }
  });
  const kv = (bucket: string, ttl = 0) => retrying(`opening KV ${bucket}`, () => js.views.kv(bucket, { replicas: resolved.replicas, history: 1, ...(ttl > 0 ? { ttl } : {}) }));
  const [jobs, tasks, workers] = [await kv(NAMES.jobsBucket), await kv(NAMES.tasksBucket), await kv(NAMES.workersBucket, 30_000)];
  return { nc, js, jsm, jobs, tasks, workers, options: resolved };
}

export async function openObjectStore(js: JetStreamClient, replicas = 1): Promise<ObjectStore> {
  return retrying('opening the object store', () => js.views.os(NAMES.objectBucket, { replicas, storage: StorageType.File }));
}
