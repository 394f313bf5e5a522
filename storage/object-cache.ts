import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

/*
 * A host's local copies of object-store files, keyed by content digest
 * (`<dir>/<2 hex>/<sha256>/<name>`), so one file fetched under two keys is
 * stored once and a changed object never meets a stale copy. The cache has a
 * size cap: after each fetch, the entries used longest ago go until the
 * total is under the cap. "Used" is the file's mtime, set on every hand-out
 * (content never changes under a digest, so mtime is free to mean that).
 *
 * An entry handed out in the last `recentMs` stays even over the cap: a
 * task holds a path between getting it and opening it, and a file removed
 * in that gap would fail the task. Once opened, a removed file stays
 * readable to its reader (Linux keeps the inode until the last close).
 */

export interface ObjectCacheOptions {
  dir: string;
  /** Size cap in bytes. */
  maxBytes: number;
  /** Entries handed out this recently are never evicted. @defaultValue 5 minutes */
  recentMs?: number;
}

export interface CacheEntry {
  dir: string;
  bytes: number;
  usedMs: number;
}

export interface Eviction {
  removed: number;
  freedBytes: number;
  /** Bytes the cache holds afterwards (over the cap only when recent entries keep it there). */
  heldBytes: number;
}

const DIGEST = /^[0-9a-f]{64}$/;

export class ObjectCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly recentMs: number;

  constructor(options: ObjectCacheOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`the object cache's cap must be positive, got ${options.maxBytes}`);
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.recentMs = options.recentMs ?? 5 * 60_000;
  }

  /** Where the file with `digest` (hex SHA-256) and base name `name` lives in the cache. */
  pathFor(digest: string, name: string): string {
    return join(this.dir, digest.slice(0, 2), digest, name);
  }

  /** The cached copy when it is there whole (its size is the object's), marked as just used; else null. */
  lookup(digest: string, name: string, bytes: number): string | null {
    const path = this.pathFor(digest, name);
    if (!existsSync(path)) return null;
    // A copy of another size is not this object's content (truncated by a full disk, say): fetch again.
    if (statSync(path).size !== bytes) {
      rmSync(path, { force: true });
      return null;
    }
    this.touch(path);
    return path;
  }

  /** Marks a file as used now. */
  touch(path: string): void {
    const now = new Date();
    utimesSync(path, now, now);
  }

  /** Every entry: its folder, bytes and last use. Work folders and half-written files (temp names) are not entries. */
  entries(): CacheEntry[] {
    const out: CacheEntry[] = [];
    for (const prefix of readdirIfAny(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const digest of readdirIfAny(join(this.dir, prefix))) {
        if (!DIGEST.test(digest)) continue;
        const dir = join(this.dir, prefix, digest);
        let bytes = 0;
        let usedMs = 0;
        for (const name of readdirIfAny(dir)) {
          const stat = statSync(join(dir, name), { throwIfNoEntry: false });
          if (!stat?.isFile()) continue;
          bytes += stat.size;
          usedMs = Math.max(usedMs, stat.mtimeMs);
        }
        out.push({ dir, bytes, usedMs });
      }
    }
    return out;
  }

  /** Removes the least recently used entries until the cache is under its cap (recent ones excepted). */
  evict(now = Date.now()): Eviction {
    const entries = this.entries().sort((a, b) => a.usedMs - b.usedMs);
    let held = entries.reduce((sum, e) => sum + e.bytes, 0);
    let removed = 0;
    let freedBytes = 0;
    for (const entry of entries) {
      if (held <= this.maxBytes) break;
      if (now - entry.usedMs < this.recentMs) continue;
      rmSync(entry.dir, { recursive: true, force: true });
      held -= entry.bytes;
      freedBytes += entry.bytes;
      removed += 1;
    }
    return { removed, freedBytes, heldBytes: held };
  }
}

function readdirIfAny(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
