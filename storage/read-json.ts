import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { ContractError, parseContract } from '../common/index.js';
import type { Storage } from './storage.js';

/*
 * A file we wrote is still input when we read it back (a peer with write
 * access, a half-written copy, an older format): every JSON file a stage
 * reads goes through its writer's schema here. A file that is not JSON, or
 * breaks the schema, is a ContractError naming the file and the field, which
 * a task reports as an input fault (not retried).
 */

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ContractError(`${file}: not JSON: ${(err as Error).message}`, { file, field: 'file' });
  }
}

function checked<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  try {
    return parseContract(schema, value, { what: file, emptyField: 'file' });
  } catch (err) {
    if (err instanceof ContractError) throw new ContractError(err.message, { file, field: err.field ?? 'file', cause: err });
    throw err;
  }
}

/** The JSON file at `key` in storage, checked against `schema`. */
export async function readJson<T>(storage: Storage, key: string, schema: z.ZodType<T>): Promise<T> {
  return checked(schema, parseJson(await storage.readText(key), key), key);
}

/** A local JSON file (a task's downloaded input), checked against `schema`. */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>): T {
  return checked(schema, parseJson(readFileSync(path, 'utf8'), path), path);
}
