import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Names for files written aside and renamed into place. The pid alone is not
 * unique: two tasks in one worker (two pool threads) can write the same
 * output, and a redelivered task can meet its predecessor's leftovers. A
 * random part makes every write its own. The `.tmp-` infix stays, so a sweep
 * (`isTempName`) finds what an interrupted write left behind.
 */

/** `path` plus a suffix no other writer (process, thread or call) uses: `<path>.tmp-<pid>-<random>`. */
export function tempPathFor(path: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return `${path}.${kind}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Whether a file name is one `tempPathFor` makes (or the pid-only names written before it). */
export function isTempName(name: string): boolean {
  return /\.(tmp|old)-\d+(-[0-9a-f]{12})?$/.test(name);
}

/**
 * A folder of this process's own under the OS temp folder, `sci-<role>-<pid>-XXXXXX`: the process
 * removes it when it closes, and the pid lets a sweep tell the folder of a process that was killed
 * (`processTempOwner`) from one that is still in use.
 */
export function processTempDir(role: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(role)) throw new Error(`temp folder role ${JSON.stringify(role)}: lower-case letters, digits and dashes`);
  return mkdtempSync(join(tmpdir(), `sci-${role}-${process.pid}-`));
}

/** The pid in a name `processTempDir` makes, or null for any other name. */
export function processTempOwner(name: string): number | null {
  const match = /^sci-[a-z][a-z0-9-]*?-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return match ? Number(match[1]) : null;
}
