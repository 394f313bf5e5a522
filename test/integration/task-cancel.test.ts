import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { NatsServerProcess, connectNats } from '../../messaging/index.js';
import { SearchRouter } from '../../search/index.js';
import { CancelledError, type SciClusterError } from '../../common/index.js';
import { REPO_ROOT, tempDir } from '../support/paths.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';
import { cancelFlagFor } from '../../stages/cancel-flag.js';
import { fromWorkerThread } from '../../stages/thread-errors.js';

/*
 * Cancellation where it crosses a boundary: an AbortSignal on the worker's
 * side reaches a task running in a piscina thread (the real pool entry) as a
 * flag in shared memory, and the task stops between batches with a typed
 * CANCELLED error; the search router stops waiting for shards when its
 * caller goes away.
 */

test('an aborted signal stops a pool task between batches, with a typed CANCELLED error and no output', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const { passages } = await wordnetFixture(dir, 1);
  const pool = new Piscina({ filename: new URL(join(REPO_ROOT, 'dist', 'stages', 'pool-entry.js'), 'file:').href, minThreads: 1, maxThreads: 1 });
  t.after(() => pool.destroy());
  const passageFile = join(passages, 'passages-00000.arrow');
  // Uncancelled, the fit reads all 117,791 passages and writes its file.
  const full = join(dir, 'df-full.bin');
  const done = (await pool.run({ stage: 'fit', passageFile, buckets: 1 << 16, outFile: full, cancel: cancelFlagFor(undefined) })) as { rowsIn: number };
  assert.equal(done.rowsIn, 117_791);
  assert.ok(existsSync(full));
  // Cancelled 30 ms in: it stops at a batch boundary long before the end.
  const controller = new AbortController();
  const outFile = join(dir, 'df-cancelled.bin');
  const started = performance.now();
  const running = pool.run({ stage: 'fit', passageFile, buckets: 1 << 16, outFile, cancel: cancelFlagFor(controller.signal) });
  setTimeout(() => controller.abort(), 30);
  const err = await running.then(
    () => null,
    (e: unknown) => fromWorkerThread(e),
  );
  assert.ok(err, 'the task was cancelled, not finished');
  assert.equal((err.cause as SciClusterError).code, 'CANCELLED', err.message);
  assert.equal(err.retryable, false);
  assert.equal(existsSync(outFile), false, 'a cancelled task writes nothing');
  t.diagnostic(`cancelled after ${(performance.now() - started).toFixed(0)} ms`);
});

test('the router stops waiting for shards when its caller aborts, long before the deadline', { timeout: 60_000 }, async (t) => {
  const nats = await NatsServerProcess.start();
  const nc = await connectNats({ servers: [nats.url], name: 'cancel-test' });
  t.after(async () => {
    await nc.close();
    await nats.stop();
  });
  // A shard server that never answers.
  nc.subscribe('sci.search.>', { queue: 'sci-shard', callback: () => undefined });
  const indexSet = { key: join(tempDir(t), 'set'), manifest: { shards: [{ id: 0 }, { id: 1 }] }, names: ['flat', 'bm25'] } as unknown as ConstructorParameters<
    typeof SearchRouter
  >[1];
  const router = new SearchRouter(nc, indexSet, 10_000);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new CancelledError('the client closed the connection')), 100);
  const started = performance.now();
  await assert.rejects(
    router.bm25(['a dog'], { k: 5, signal: controller.signal }),
    (err: Error) => err instanceof CancelledError && /closed the connection/.test(err.message),
  );
  assert.ok(performance.now() - started < 2000, 'returned at the abort, not at the 10 s deadline');
});
