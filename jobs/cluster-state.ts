import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
  type KV,
  type NatsConnection,
} from 'nats';
import { MessagingError, retrying } from '../messaging/index.js';
import type { ObjectBucket } from '../storage/index.js';
import { NAMES } from './names.js';

/*
 * Creates (idempotently), reconciles and opens the JetStream objects the runtime uses:
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
  /**
   * Create what is missing and bring the stream's and consumer's settings to
   * these options (the coordinator's and the operator's part); false = bind
   * to what exists and fail clearly when it is missing. @defaultValue false
   */
  manage?: boolean;
  /** Log of what reconciling changed. */
  onChange?: (what: string) => void;
  /** How long a binding role waits for the coordinator to create what it binds to. @defaultValue 30000 */
  waitMs?: number;
}

export interface ClusterState {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  jobs: KV;
  tasks: KV;
  workers: KV;
  options: Required<Omit<ClusterStateOptions, 'onChange' | 'waitMs'>>;
}

function isNotFound(err: unknown): boolean {
  return (
    /not found/i.test((err as Error)?.message ?? '') ||
    (err as { api_error?: { err_code?: number } })?.api_error?.err_code === 10059 ||
    (err as { api_error?: { err_code?: number } })?.api_error?.err_code === 10014
  );
}

/** The settings of the worker consumer this cluster wants, as they would be compared with a live one. */
export function wantedConsumer(options: { ackWaitMs: number; maxDeliver: number }): Partial<ConsumerConfig> {
  return { ack_wait: nanos(options.ackWaitMs), max_deliver: options.maxDeliver, max_ack_pending: 1000 };
}

/** Fields of `wanted` that differ in `live` (the reconcile plan). */
export function consumerDrift(live: Partial<ConsumerConfig>, wanted: Partial<ConsumerConfig>): Array<keyof ConsumerConfig> {
  return (Object.keys(wanted) as Array<keyof ConsumerConfig>).filter((key) => live[key] !== wanted[key]);
}

async function ensureTaskStream(jsm: JetStreamManager, o: ClusterState['options'], onChange: (what: string) => void): Promise<void> {
  const wanted = {
    name: NAMES.taskStream,
    subjects: [NAMES.taskSubjects],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: o.replicas,
    duplicate_window: nanos(120_000),
  };
  let info;
  try {
    info = await jsm.streams.info(NAMES.taskStream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    if (!o.manage) throw new MessagingError(`the task stream ${NAMES.taskStream} does not exist yet: start the coordinator first`, { cause: err });
    await jsm.streams.add(wanted);
    onChange(`created stream ${NAMES.taskStream}`);
    return;
  }
  if (o.manage && (info.config.num_replicas !== wanted.num_replicas || info.config.duplicate_window !== wanted.duplicate_window)) {
    await jsm.streams.update(NAMES.taskStream, { ...info.config, num_replicas: wanted.num_replicas, duplicate_window: wanted.duplicate_window });
    onChange(`stream ${NAMES.taskStream}: replicas ${info.config.num_replicas} → ${wanted.num_replicas}`);
  }
}

async function ensureWorkerConsumer(jsm: JetStreamManager, o: ClusterState['options'], onChange: (what: string) => void): Promise<void> {
  const wanted = wantedConsumer(o);
  let info;
  try {
    info = await jsm.consumers.info(NAMES.taskStream, NAMES.workerConsumer);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    if (!o.manage) throw new MessagingError(`the worker consumer ${NAMES.workerConsumer} does not exist yet: start the coordinator first`, { cause: err });
    await jsm.consumers.add(NAMES.taskStream, {
      durable_name: NAMES.workerConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...wanted,
    });
    onChange(`created consumer ${NAMES.workerConsumer}`);
    return;
  }
  const drift = consumerDrift(info.config, wanted);
  if (o.manage && drift.length > 0) {
    await jsm.consumers.update(NAMES.taskStream, NAMES.workerConsumer, wanted);
    onChange(`consumer ${NAMES.workerConsumer}: ${drift.map((k) => `${k} ${String(info.config[k])} → ${String(wanted[k])}`).join(', ')}`);
  }
}

export async function openClusterState(nc: NatsConnection, options: ClusterStateOptions = {}): Promise<ClusterState> {
  const resolved = {
    replicas: options.replicas ?? 1,
    ackWaitMs: options.ackWaitMs ?? 30_000,
    maxDeliver: options.maxDeliver ?? 5,
    manage: options.manage ?? false,
  };
  const onChange = options.onChange ?? (() => undefined);
  const jsm = await retrying('JetStream', () => nc.jetstreamManager({ timeout: 5000 }));
  const js = nc.jetstream({ timeout: 10_000 });
  const wait = { timeoutMs: options.waitMs ?? 30_000 };
  await retrying('opening the task stream', () => ensureTaskStream(jsm, resolved, onChange), wait);
  await retrying('opening the worker consumer', () => ensureWorkerConsumer(jsm, resolved, onChange), wait);
  // Reads ask the stream's leader (STREAM.MSG.GET), never a direct get: a direct get goes to any
  // replica, and with one host of three cut off a third to a half of them timed out for minutes
  // (measured on namespace hosts, nats-server 2.9.10); a follower's answer may also be stale, and a
  // job's state must not step back.
  const kv = (bucket: string, ttl = 0) =>
    retrying(`opening KV ${bucket}`, () =>
      js.views.kv(bucket, {
        replicas: resolved.replicas,
        history: 1,
        allow_direct: false,
        ...(resolved.manage ? {} : { bindOnly: true }),
        ...(ttl > 0 ? { ttl } : {}),
      }),
    );
  const [jobs, tasks, workers] = [await kv(NAMES.jobsBucket), await kv(NAMES.tasksBucket), await kv(NAMES.workersBucket, 30_000)];
  return { nc, js, jsm, jobs, tasks, workers, options: resolved };
}

/** The runtime's object store bucket, created with `replicas` where it is missing. */
export async function openObjectStore(js: JetStreamClient, replicas = 1): Promise<ObjectBucket> {
  const store = await retrying('opening the object store', () => js.views.os(NAMES.objectBucket, { replicas, storage: StorageType.File }));
  return { js, store, name: NAMES.objectBucket };
}
