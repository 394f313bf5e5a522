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
  // Six processes race (each its own pid). Each loads the module and says "ready"; when all are ready they are
  // told "go" at once, say whether they got the lease, and stay until every answer is in (a holder that exited
  // early would leave a dead pid, which the next comer rightly takes over: on a loaded machine the spawns spread
  // out by seconds). Then a holder beats once more.
  const script = `
    const { DriverLease } = await import(${JSON.stringify(new URL('../../../pipeline/lease.js', import.meta.url).href)});
    const lines = (await import('node:readline')).createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    console.log('ready');
    await lines.next();
    let lease = null;
    try { lease = DriverLease.acquire(${JSON.stringify(file)}); }
    catch (err) { if (!/another driver|took it at the same time/.test(err.message)) throw err; }
    console.log(lease ? 'held' : 'refused');
    await lines.next();
    lease?.beat(true);`;
  const runs = Array.from({ length: 6 }, () => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
  const said = runs.map((child) => {
    const lines: string[] = [];
    const waiters: Array<() => void> = [];
    child.stdout!.on('data', (d: Buffer) => {
      lines.push(...d.toString().split('\n').filter(Boolean));
      waiters.splice(0).forEach((w) => w());
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = (n: number) =>
      new Promise<string>((resolve, reject) => {
        const check = () => (lines.length > n ? resolve(lines[n]!) : waiters.push(check));
        void exited.then((code) => (lines.length > n ? resolve(lines[n]!) : reject(new Error(`a racer exited ${code} before line ${n + 1}`))));
        check();
      });
    return { line, exited };
  });
  t.after(() => runs.forEach((child) => child.kill()));
  const tell = (text: string) => runs.forEach((child) => child.stdin!.write(text));
  return Promise.all(said.map((s) => s.line(0)))
    .then(() => tell('go\n'))
    .then(() => Promise.all(said.map((s) => s.line(1))))
    .then(async (answers) => {
      runs.forEach((child) => child.stdin!.end()); // the end of its input lets each racer's readline, and so the racer, finish
      assert.deepEqual(await Promise.all(said.map((s) => s.exited)), [0, 0, 0, 0, 0, 0]);
      assert.equal(answers.filter((a) => a === 'held').length, 1, answers.join(', '));
      assert.equal(answers.filter((a) => a === 'refused').length, 5, answers.join(', '));
      assert.deepEqual(readdirSync(dir), ['pipeline.lock'], 'no temp or aside files left');
    });
});
