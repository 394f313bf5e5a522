import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ObjectCache } from '../../../storage/index.js';
import { tempDir } from '../../support/paths.js';

const digest = (n: number) => n.toString(16).padStart(64, '0');

/** Puts a cached copy of `bytes` bytes, last used `ageMs` ago. */
function put(cache: ObjectCache, n: number, bytes: number, ageMs: number, now: number): string {
  const path = cache.pathFor(digest(n), 'passages.arrow');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes));
  const used = new Date(now - ageMs);
  utimesSync(path, used, used);
  return path;
}

test('the object cache keeps under its cap by removing the least recently used copies', (t) => {
  const cache = new ObjectCache({ dir: tempDir(t), maxBytes: 2500, recentMs: 60_000 });
  const now = Date.now();
  const oldest = put(cache, 1, 1000, 3_600_000, now);
  const older = put(cache, 2, 1000, 1_800_000, now);
  const recent = put(cache, 3, 1000, 120_000, now);
  assert.deepEqual(cache.evict(now), { removed: 1, freedBytes: 1000, heldBytes: 2000 });
  assert.equal(existsSync(oldest), false);
  assert.ok(existsSync(older) && existsSync(recent));
  assert.equal(existsSync(dirname(oldest)), false, 'the whole entry goes');
});

test('copies used in the last minutes stay even over the cap: a task may not have opened its file yet', (t) => {
  const cache = new ObjectCache({ dir: tempDir(t), maxBytes: 1500, recentMs: 60_000 });
  const now = Date.now();
  const stale = put(cache, 1, 1000, 600_000, now);
  const handedOut = put(cache, 2, 1000, 10_000, now);
  const fetched = put(cache, 3, 1000, 0, now);
  assert.deepEqual(cache.evict(now), { removed: 1, freedBytes: 1000, heldBytes: 2000 });
  assert.equal(existsSync(stale), false);
  assert.ok(existsSync(handedOut) && existsSync(fetched));
});

test('a lookup marks a copy as used, and a copy of the wrong size is not served', (t) => {
  const cache = new ObjectCache({ dir: tempDir(t), maxBytes: 1500, recentMs: 60_000 });
  const now = Date.now();
  const a = put(cache, 1, 1000, 600_000, now);
  const b = put(cache, 2, 1000, 300_000, now);
  // Looking up the older one makes the other the least recently used.
  assert.equal(cache.lookup(digest(1), 'passages.arrow', 1000), a);
  assert.deepEqual(cache.evict(), { removed: 1, freedBytes: 1000, heldBytes: 1000 });
  assert.ok(existsSync(a));
  assert.equal(existsSync(b), false);
  // Truncated (a full disk, a crash mid-copy under an old version): refetched, not served.
  assert.equal(cache.lookup(digest(1), 'passages.arrow', 999), null);
  assert.equal(existsSync(a), false);
  assert.equal(cache.lookup(digest(7), 'passages.arrow', 10), null);
});

test('work folders and half-written files are not cache entries', (t) => {
  const dir = tempDir(t);
  const cache = new ObjectCache({ dir, maxBytes: 1, recentMs: 0 });
  mkdirSync(`${dir}/work-123-abc`, { recursive: true });
  writeFileSync(`${dir}/work-123-abc/out.arrow`, Buffer.alloc(100));
  mkdirSync(`${dir}/ingest-xyz`, { recursive: true });
  assert.deepEqual(cache.entries(), []);
  assert.deepEqual(cache.evict(), { removed: 0, freedBytes: 0, heldBytes: 0 });
  assert.ok(existsSync(`${dir}/work-123-abc/out.arrow`));
  assert.throws(() => new ObjectCache({ dir, maxBytes: 0 }), /cap must be positive/);
});
