import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { liveOwner, loadRunState, saveRunState, statePath, stopLeftovers, type CorpusScaleParams } from '../../../bench/corpus-scale-state.js';
import { tempDir } from '../../support/paths.js';

/*
 * bench/corpus-scale's restart: a run's state is found again with its
 * finished stages and job ids, a run with other parameters is refused by
 * name, and only processes that are ours are stopped.
 */

const params: CorpusScaleParams = {
  rows: 1000,
  shards: 2,
  workers: 2,
  dtype: 'f16',
  kind: 'synsets',
  encoder: 'trained',
  trainSteps: 10,
  queries: 10,
  mineQueries: 20,
};

test('a saved run is continued with its finished stages and jobs; other parameters are refused, naming them', (t) => {
  const dir = tempDir(t);
  const fresh = loadRunState(dir, params);
  assert.equal(fresh.resumed, false);
  assert.equal(existsSync(statePath(dir)), false, 'nothing is written before the run saves');
  const state = fresh.state;
  state.done.push({ stage: 'ingest', seconds: 12.5, attempts: 1, peakRssMiB: { ingest: 270 }, bytes: 1_000_000, items: 1000, unit: 'passages' });
  state.running = { stage: 'encode', seconds: 40, attempts: 1, peakRssMiB: { worker: 450 } };
  state.jobs.encode = 'job-abc';
  state.code.push('abc1234');
  saveRunState(dir, state);
  const again = loadRunState(dir, params);
  assert.equal(again.resumed, true);
  assert.deepEqual(again.state, JSON.parse(readFileSync(statePath(dir), 'utf8')));
  assert.equal(again.state.jobs.encode, 'job-abc');
  assert.deepEqual(again.state.code, ['abc1234']);
  assert.throws(
    () => loadRunState(dir, { ...params, rows: 2000, dtype: 'f32' }),
    /is a run with rows 1000, dtype f16; asked for rows 2000, dtype f32 .*--fresh/,
  );
});

test('leftovers: a sci process is stopped; one that is not sci or nats-server is left alone; a gone pid is skipped', async () => {
  const sleeper = spawn('sleep', ['30']);
  // A process whose command line names sci.js, as `node bin/sci.js worker run` does.
  const sci = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'bin/sci.js']);
  const sciExit = new Promise((ok) => sci.once('exit', (_code, signal) => ok(signal)));
  await new Promise((ok) => setTimeout(ok, 200));
  try {
    assert.deepEqual(stopLeftovers([sleeper.pid!, sci.pid!, 2 ** 22 + 17]), [sci.pid]);
    assert.equal(await sciExit, 'SIGKILL');
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
  } finally {
    sleeper.kill('SIGKILL');
    await new Promise((ok) => sleeper.once('exit', ok));
  }
});

test("a run's earlier bench still running is found by its command line; a gone or reused pid, or this process, is not", async (t) => {
  const dir = tempDir(t);
  const { state } = loadRunState(dir, params);
  assert.equal(liveOwner(state), null, 'a run with no owner recorded (a state from before owners)');
  // A process whose command line names the bench, as `node dist/bench/corpus-scale.js --rows …` does.
  const bench = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'dist/bench/corpus-scale.js']);
  const other = spawn('sleep', ['30']);
  t.after(() => {
    bench.kill('SIGKILL');
    other.kill('SIGKILL');
  });
  await new Promise((ok) => setTimeout(ok, 200));
  for (const [owner, expected] of [
    [bench.pid!, bench.pid!],
    [other.pid!, null],
    [process.pid, null],
    [2 ** 22 + 17, null],
  ] as const) {
    state.owner = owner;
    saveRunState(dir, state);
    assert.equal(liveOwner(loadRunState(dir, params).state), expected, `owner ${owner}`);
  }
});
