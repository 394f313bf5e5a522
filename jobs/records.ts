import type { KV } from 'nats';
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

/** Every key (matching `filter`), collected before any value is read (awaiting inside nats.js's `keys()` iterator cuts the listing short); bounded in time. */
export async function listKeys(kv: KV, filter?: string): Promise<string[]> {
  return withTimeout(
    (async () => {
      const keys: string[] = [];
      for await (const key of await kv.keys(filter)) keys.push(key);
      return keys;
    })(),
    15_000,
    `listing keys${filter ? ` ${filter}` : ''}`,
  );
}

/** Called with each record a listing skipped because it breaks its schema. */
export type OnCorruptRecord = (err: CorruptRecordError) => void;

/** Every record of a bucket that keeps its schema; the others go to `onCorrupt` (one bad record hides no other). */
async function listRecords<T>(kv: KV, schema: z.ZodType<T>, keys: string[], onCorrupt: OnCorruptRecord): Promise<T[]> {
  const out: T[] = [];
  for (const key of keys) {
    try {
      const record = await getRecord(kv, key, schema);
      if (record) out.push(record.value);
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      onCorrupt(err);
    }
  }
  return out;
}

export async function listJobs(kv: KV, onCorrupt: OnCorruptRecord = () => undefined): Promise<JobRecord[]> {
  return listRecords(kv, JobRecordSchema, await listKeys(kv), onCorrupt);
}

/** Every worker's heartbeat record (what it announces), in key order. */
export async function listWorkers(kv: KV, onCorrupt: OnCorruptRecord = () => undefined): Promise<WorkerRecord[]> {
  return listRecords(kv, WorkerRecordSchema, (await listKeys(kv)).sort(), onCorrupt);
}

/** The job's task records; a corrupt one throws CorruptRecordError (the job cannot be accounted for without it). */
export async function tasksOfJob(kv: KV, jobId: string): Promise<TaskRecord[]> {
  return listRecords(kv, TaskRecordSchema, await listKeys(kv, `${jobId}.>`), (err) => {
    throw err;
  });
}
