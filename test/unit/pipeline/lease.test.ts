import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DriverLease } from '../../../pipeline/lease.js';
import { tempDir } from '../../support/paths.js';

test('one driver per seed: a second is refused while the first beats; a stale lease is taken over; release removes it', (t) => {
  const file = join(tempDir(t), 'pipeline.lock');
  const first = DriverLease.acquire(file);
  t.after(() => first.release());
  assert.throws(() => DriverLease.acquire(file), /another driver runs this pipeline seed \(pid \d+ on \S+, heartbeat 0 s ago\)/);
  first.beat(true);
  const later = Date.now() + 130_000;
  const second = DriverLease.acquire(file, { now: () => later });
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).startedAt, new Date(later).toISOString(), 'the stale lease was taken over');
  second.release();
  assert.equal(existsSync(file), false);
  writeFileSync(file, '{"pid": 1');
  const third = DriverLease.acquire(file);
  third.release();
  assert.equal(existsSync(file), false, 'a half-written lease counts as stale');
});
