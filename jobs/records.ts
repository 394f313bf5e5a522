import type { JetStreamManager, KV, KvEntry } from 'nats';
import type { z } from 'zod';
import { ContractError, jsonOrUndefined, parseContract } from '../common/index.js';
import { retrying, withTimeout } from '../messaging/index.js';
import { CorruptRecordError } from './errors.js';
import { JobRecordSchema, TaskRecordSchema, WorkerRecordSchema, type JobRecord, type TaskRecord, type WorkerRecord } from './model.js';

/*
 * JSON records in KV with compare-and-set updates, so two processes writing
 * the same record (a redelivered task, a restarted coordinator) never lose
 * an update silently. Every read checks the record's schema: a record that
 * breaks it is a CorruptRecordError (non-retryable) naming the key and field.
 */

const encoder = new TextEncoder();

/** JetStream's "wrong last sequence": another writer changed (or created) the key since we read it. */
const JS_WRONG_LAST_SEQUENCE = 10071;

export function isRevisionConflict(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } })?.api_error?.err_code === JS_WRONG_LAST_SEQUENCE;
}

/** A record's bytes checked against its schema; CorruptRecordError naming the key and field when they break it. */
export function parseRecord<T>(schema: z.ZodType<T>, key: string, bytes: Uint8Array): T {
  try {
    return parseContract(schema, jsonOrUndefined(bytes), { emptyField: 'record' });
  } catch (err) {
    if (err instanceof ContractError) throw new CorruptRecordError(key, err.message, { field: err.field ?? 'record', cause: err });
    throw err;
  }
}

export async function getRecord<T>(kv: KV, key: string, schema: z.ZodType<T>): Promise<{ value: T; revision: number } | null> {
  const entry = await retrying(`reading ${key}`, () => kv.get(key));
  if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
  return { value: parseRecord(schema, key, entry.value), revision: entry.revision };
}

/** Creates the record only if absent; returns whether it did. */
export async function createRecord<T>(kv: KV, key: string, value: T): Promise<boolean> {
  try {
    await kv.create(key, encoder.encode(JSON.stringify(value)));
    return true;
  } catch (err) {
    if (isRevisionConflict(err)) return false;
    throw err;
  }
}

/**
 * Applies `change` to the current value with CAS, retrying on conflicts.
 * `change` returns null to leave the record as it is.
 */
export async function updateRecord<T>(kv: KV, key: string, schema: z.ZodType<T>, change: (current: NoInfer<T> | null) => NoInfer<T> | null): Promise<T | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const current = await getRecord(kv, key, schema);
    const next = change(current?.value ?? null);
    if (next === null) return current?.value ?? null;
    try {
      if (current) await kv.update(key, encoder.encode(JSON.stringify(next)), current.revision);
      else await kv.create(key, encoder.encode(JSON.stringify(next)));
      return next;
    } catch (err) {
      if (!isRevisionConflict(err)) throw err;
    }
  }
  throw new Error(`could not update ${key}: too many concurrent writers`);
}

/**
 * The keys of a bucket (matching `filter`) that hold a live value, read from the stream's subject
 * counts (one STREAM.INFO, answered by the stream's leader) and then each key's last entry.
 *
 * No consumer: nats.js's `kv.keys()` makes an ordered consumer per listing, and in a JetStream
 * cluster the meta leader places it on any replica of the stream, including one whose host has just
 * been cut off (a server is counted offline only minutes later). With one host of three cut off, a
 * quarter of the listings then timed out for minutes (the three-host test's stalled sweeps).
 */
export async function listKeys(kv: KV, filter = '>'): Promise<string[]> {
  return (await liveEntries(kv, filter)).map((entry) => entry.key);
}

/** The last entry of every key (matching `filter`) that holds a live value, in key order; see listKeys. */
async function liveEntries(kv: KV, filter = '>'): Promise<KvEntry[]> {
  const { jsm, stream, prefix } = bucketStream(kv);
  return withTimeout(
    (async () => {
      const { state } = await retrying(`listing ${stream}`, () => jsm.streams.info(stream, { subjects_filter: `${prefix}.${filter}` }));
      const entries: KvEntry[] = [];
      for (const subject of Object.keys(state.subjects ?? {}).sort()) {
        const key = subject.slice(prefix.length + 1);
        const entry = await retrying(`reading ${key}`, () => kv.get(key));
        if (entry && entry.operation === 'PUT') entries.push(entry);
      }
      return entries;
    })(),
    30_000,
    `listing keys of ${stream}${filter === '>' ? '' : ` ${filter}`}`,
  );
}

/** The stream under a nats.js KV bucket and its subject prefix (`$KV.<bucket>`), from the bucket's own fields. */
function bucketStream(kv: KV): { jsm: JetStreamManager; stream: string; prefix: string } {
  const bucket = kv as unknown as { jsm?: JetStreamManager; stream?: string; bucket?: string };
  if (!bucket.jsm || !bucket.stream || !bucket.bucket) throw new Error('listKeys: not a nats.js KV bucket (no jsm/stream/bucket fields)');
  return { jsm: bucket.jsm, stream: bucket.stream, prefix: `$KV.${bucket.bucket}` };
}

/** Called with each record a listing skipped because it breaks its schema. */
export type OnCorruptRecord = (err: CorruptRecordError) => void;

/** Every record of a bucket (matching `filter`) that keeps its schema, in key order; the others go to `onCorrupt` (one bad record hides no other). */
async function listRecords<T>(kv: KV, schema: z.ZodType<T>, filter: string, onCorrupt: OnCorruptRecord): Promise<T[]> {
  const out: T[] = [];
  for (const entry of await liveEntries(kv, filter)) {
    if (entry.value.length === 0) continue;
    try {
      out.push(parseRecord(schema, entry.key, entry.value));
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      onCorrupt(err);
    }
  }
  return out;
}

export async function listJobs(kv: KV, onCorrupt: OnCorruptRecord = () => undefined): Promise<JobRecord[]> {
  return listRecords(kv, JobRecordSchema, '>', onCorrupt);
}

/** Every worker's heartbeat record (what it announces), in key order. */
export async function listWorkers(kv: KV, onCorrupt: OnCorruptRecord = () => undefined): Promise<WorkerRecord[]> {
  return listRecords(kv, WorkerRecordSchema, '>', onCorrupt);
}

/** The job's task records; a corrupt one throws CorruptRecordError (the job cannot be accounted for without it). */
export async function tasksOfJob(kv: KV, jobId: string): Promise<TaskRecord[]> {
  return listRecords(kv, TaskRecordSchema, `${jobId}.>`, (err) => {
    throw err;
  });
}
