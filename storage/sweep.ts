import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isTempName } from '../common/index.js';

/*
 * What interrupted writes leave in a storage root: files written aside
 * (`<name>.tmp-<pid>-<random>`, `.old-…`) that were never renamed into
 * place, and task work folders (`.work-<pid>-…`) whose task died. Nothing
 * reads them; a sweep removes those older than a bound (a running task's are
 * younger: it writes them as it goes).
 */

export interface Leftover {
  path: string;
  kind: 'temp file' | 'work folder';
  bytes: number;
  ageMs: number;
}

/** Bytes under a path (a folder's files, recursively; links not followed). */
function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

/** Leftovers under `root` older than `olderThanMs`; symlinks are neither followed nor reported. */
export function findLeftovers(root: string, options: { olderThanMs: number; now?: number }): Leftover[] {
  const now = options.now ?? Date.now();
  const out: Leftover[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // vanished or unreadable: nothing of ours to sweep there
    }
    for (const name of names) {
      const path = join(dir, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat || stat.isSymbolicLink()) continue;
      const ageMs = now - stat.mtimeMs;
      const kind = stat.isDirectory() && name.startsWith('.work-') ? 'work folder' : isTempName(name) ? 'temp file' : null;
      if (kind) {
        if (ageMs >= options.olderThanMs) out.push({ path, kind, bytes: sizeOf(path), ageMs });
        continue;
      }
      if (stat.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

/** Removes what `findLeftovers` found; returns the bytes freed. */
export function removeLeftovers(leftovers: readonly Leftover[]): number {
  let freed = 0;
  for (const leftover of leftovers) {
    rmSync(leftover.path, { recursive: true, force: true });
    freed += leftover.bytes;
  }
  return freed;
}
