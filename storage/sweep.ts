import { lstatSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { isTempName, processAlive, processTempOwner } from '../common/index.js';

/*
 * What interrupted writes leave in a storage root: files written aside
 * (`<name>.tmp-<pid>-<random>`, `.old-…`) that were never renamed into
 * place, and task work folders (`.work-<pid>-…`) whose task died. Nothing
 * reads them; a sweep removes those older than a bound (a running task's are
 * younger: it writes them as it goes). Also, where asked, the intermediate
 * folders of finished jobs: a mine job's per-shard candidates, statistics
 * and query vectors, an index job's shared-quantizer samples. A job is
 * finished when its set manifest (written last) is there; a folder the
 * manifest names a file in is kept.
 */

/** Intermediate folders of a finished job's output: the set manifest's format, and the folders under it only its own stages read. */
export interface JobIntermediates {
  format: string;
  folders: readonly string[];
}

export interface Leftover {
  path: string;
  kind: 'temp file' | 'work folder' | 'job intermediate' | 'dead process folder';
  bytes: number;
  ageMs: number;
}

/** Bytes under a path (a folder's files, recursively; links not followed). */
function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

/** Every `path` a manifest names (at any depth), relative to its folder. */
function pathsNamedBy(manifest: unknown): string[] {
  const out: string[] = [];
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') {
      const entry = value as Record<string, unknown>;
      if (typeof entry.path === 'string') out.push(entry.path);
      Object.values(entry).forEach(walk);
    }
  };
  walk(manifest);
  return out;
}

/** The intermediate folders of `dir` when it holds a finished job's set of one of these kinds. */
function finishedJobIntermediates(dir: string, names: readonly string[], kinds: readonly JobIntermediates[]): string[] {
  if (kinds.length === 0 || !names.includes('manifest.json')) return [];
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return []; // not ours, or being written: leave it
  }
  const format = (manifest as { format?: unknown } | null)?.format;
  const kind = kinds.find((k) => k.format === format);
  if (!kind) return [];
  const named = pathsNamedBy(manifest).map((p) => relative(dir, join(dir, p)));
  return kind.folders.filter((folder) => names.includes(folder) && !named.some((p) => p === folder || p.startsWith(`${folder}${sep}`)));
}

/**
 * Leftovers under `root` older than `olderThanMs`; symlinks are neither followed nor reported. With
 * `intermediates`, also the intermediate folders of finished jobs of those kinds.
 */
export function findLeftovers(root: string, options: { olderThanMs: number; now?: number; intermediates?: readonly JobIntermediates[] }): Leftover[] {
  const now = options.now ?? Date.now();
  const out: Leftover[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // vanished or unreadable: nothing of ours to sweep there
    }
    const intermediate = new Set(finishedJobIntermediates(dir, names, options.intermediates ?? []));
    for (const name of intermediate) {
      const path = join(dir, name);
      const stat = lstatSync(path, { throwIfNoEntry: false });
      if (!stat?.isDirectory()) continue;
      const ageMs = now - stat.mtimeMs;
      if (ageMs >= options.olderThanMs) out.push({ path, kind: 'job intermediate', bytes: sizeOf(path), ageMs });
    }
    for (const name of names) {
      if (intermediate.has(name)) continue;
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

/**
 * The folders our processes make under the OS temp folder (`processTempDir`: a query encoder's model
 * copy, a shard server's BM25 files) whose process is gone and that are older than `olderThanMs`. A
 * process removes its own when it closes; one killed (SIGKILL, out of memory) cannot. A folder whose
 * pid is running again (pids are reused) stays: keeping it is the safe mistake.
 */
export function findDeadProcessFolders(options: { olderThanMs: number; dir?: string; now?: number; alive?: (pid: number) => boolean }): Leftover[] {
  const dir = options.dir ?? tmpdir();
  const now = options.now ?? Date.now();
  const alive = options.alive ?? processAlive;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Leftover[] = [];
  for (const name of names) {
    const pid = processTempOwner(name);
    if (pid === null || pid === process.pid) continue;
    const path = join(dir, name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) continue;
    const ageMs = now - stat.mtimeMs;
    if (ageMs >= options.olderThanMs && !alive(pid)) out.push({ path, kind: 'dead process folder', bytes: sizeOf(path), ageMs });
  }
  return out;
}
