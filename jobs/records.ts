import type { KV } from 'nats';
import { retrying, withTimeout } from '../messaging/index.js';
import type { JobRecord, TaskRecord } from './model.js';

/*
 * JSON records in KV with compare-and-set updates, so two processes writing
 * the same record (a redelivered task, a restarted coordinator) never lose
 * an update silently.
 */

const encoder = new TextEncoder();

/** JetStream's "wrong last sequence": another writer changed (or created) the key since we read it. */
const JS_WRONG_LAST_SEQUENCE = 10071;

export function isRevisionConflict(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } })?.api_error?.err_code === JS_WRONG_LAST_SEQUENCE;
}
const decoder = new TextDecoder();

export async function getRecord<T>(kv: KV, key: string): Promise<{ value: T; revision: number } | null> {
  const entry = await retrying(`reading ${key}`, () => kv.get(key));
  if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
  return { value: JSON.parse(decoder.decode(entry.value)) as T, revision: entry.revision };
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
export async function updateRecord<T>(kv: KV, key: string, change: (current: T | null) => T | null): Promise<T | null> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const current = await getRecord<T>(kv, key);
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

export async function listJobs(kv: KV): Promise<JobRecord[]> {
  const keys = await listKeys(kv);
  const out: JobRecord[] = [];
  for (const key of keys) {
    const record = await getRecord<JobRecord>(kv, key);
    if (record) out.push(record.value);
  }
  return out;
}

/** Every worker's heartbeat record (what it announces), in key order. */
export async function listWorkers<T = Record<string, unknown>>(kv: KV): Promise<T[]> {
  const out: T[] = [];
  for (const key of (await listKeys(kv)).sort()) {
    const record = await getRecord<T>(kv, key);
    if (record) out.push(record.value);
  }
  return out;
}

export async function tasksOfJob(kv: KV, jobId: string): Promise<TaskRecord[]> {
  const keys = await listKeys(kv, `${jobId}.>`);
  const out: TaskRecord[] = [];
  for (const key of keys) {
    const record = await getRecord<TaskRecord>(kv, key);
    if (record) out.push(record.value);
  }
  return out;
}
