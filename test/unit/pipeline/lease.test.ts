import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { DriverLease } from '../../../pipeline/lease.js';
import { tempDir } from '../../support/paths.js';

test('one driver per seed: a second is refused while the first beats; a stale or dead holder’s lease is taken over; release removes it', (t) => {
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
  // A holder on this host that no longer runs (a SIGKILLed driver) is stale at once.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  writeFileSync(file, JSON.stringify({ pid: dead, host: hostname(), startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString() }));
  DriverLease.acquire(file).release();
  writeFileSync(file, JSON.stringify({ pid: dead, host: 'another-host', startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString() }));
  assert.throws(() => DriverLease.acquire(file), /pid \d+ on another-host/, 'elsewhere only silence counts');
});
