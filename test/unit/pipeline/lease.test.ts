import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
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
  writeFileSync(file, JSON.stringify({ pid: dead, host: hostname(), startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString(), token: 'a' }));
  DriverLease.acquire(file).release();
  writeFileSync(
    file,
    JSON.stringify({ pid: dead, host: 'another-host', startedAt: new Date().toISOString(), heartbeatAt: new Date().toISOString(), token: 'b' }),
  );
  assert.throws(() => DriverLease.acquire(file), /pid \d+ on another-host/, 'elsewhere only silence counts');
});

test('a lease is exclusive: a driver whose stale lease was taken over learns it at its next beat, and its release leaves the new lease alone', (t) => {
  const file = join(tempDir(t), 'pipeline.lock');
  const first = DriverLease.acquire(file, { heartbeatMs: 60_000 });
  t.after(() => first.release());
  // The first driver stops beating (a paused pod); after staleMs another takes over.
  const later = Date.now() + 130_000;
  const second = DriverLease.acquire(file, { now: () => later, heartbeatMs: 60_000 });
  t.after(() => second.release());
  assert.throws(() => first.beat(true), /taken over by pid \d+/);
  assert.throws(() => first.beat(), /taken over/, 'once lost, always lost');
  first.release();
  assert.equal(existsSync(file), true, "the loser's release keeps the winner's lease");
  second.beat(true);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).startedAt, new Date(later).toISOString());
  second.release();
  assert.equal(existsSync(file), false);
  assert.deepEqual(readdirSync(dirname(file)), [], 'no temp or aside files left');
});

test('drivers taking over the same stale lease at once: exactly one holds it', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'pipeline.lock');
  writeFileSync(file, JSON.stringify({ pid: 1, host: 'gone-host', startedAt: '2020-01-01T00:00:00Z', heartbeatAt: '2020-01-01T00:00:00Z', token: 'old' }));
  // Six processes race (each its own pid): each says whether it got the lease; a holder keeps it and beats once more.
  const script = `
    const { DriverLease } = await import(${JSON.stringify(new URL('../../../pipeline/lease.js', import.meta.url).href)});
    let got = false;
    try { const lease = DriverLease.acquire(${JSON.stringify(file)}); got = true; await new Promise((r) => setTimeout(r, 1500)); lease.beat(true); }
    catch (err) { if (!/another driver|took it at the same time/.test(err.message)) throw err; }
    console.log(got ? 'held' : 'refused');`;
  const runs = Array.from({ length: 6 }, () => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
  return Promise.all(
    runs.map(
      (child) =>
        new Promise<string>((resolve) => {
          let out = '';
          child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
          child.on('exit', (code) => resolve(code === 0 ? out.trim() : `exit ${code}`));
        }),
    ),
  ).then((answers) => {
    assert.equal(answers.filter((a) => a === 'held').length, 1, answers.join(', '));
    assert.equal(answers.filter((a) => a === 'refused').length, 5, answers.join(', '));
    assert.deepEqual(readdirSync(dir), ['pipeline.lock'], 'no temp or aside files left');
  });
});
