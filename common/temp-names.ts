import { randomBytes } from 'node:crypto';

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
