import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { listJobs, NAMES, newJobId, submitJob, type JobRecord } from '../../jobs/index.js';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts } from '../support/wordnet-fixture.js';

/*
 * A submission carries an id the client chose, so a request that timed out
 * after it landed (a NATS node in an election) is retried without making a
 * second job: the same id and spec again answer with the job it made; the
 * id with another spec is refused; a bare spec still gets an id of the
 * coordinator's.
 */

test('submitting under the same id twice makes one job; the id with another spec is refused', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const { passages } = await wordnetFixture(dir, 2, { input: wordnetParts(dir, ['adv']) });
  const cluster = await TestCluster.start({ dir, workers: 0 });
  t.after(() => cluster.stop());
  const nc = await cluster.connectAs('cli');
  t.after(() => nc.close());
  const spec = { kind: 'encode' as const, input: passages, output: join(dir, 'embeddings') };
  const ask = async (body: unknown) => {
    // The coordinator may still be starting (no responders yet).
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await nc.request(NAMES.submitSubject, new TextEncoder().encode(JSON.stringify(body)), { timeout: 30_000 });
        return reply.json<{ ok: boolean; job?: JobRecord; error?: string }>();
      } catch (err) {
        if (attempt > 40) throw err;
        await sleep(250);
      }
    }
  };

  const id = newJobId();
  const first = await ask({ id, spec });
  const again = await ask({ id, spec });
  assert.ok(first.ok && again.ok, `${first.error ?? ''} ${again.error ?? ''}`);
  assert.equal(first.job!.id, id);
  assert.equal(again.job!.id, id, 'the retry answers with the job the first delivery made');
  assert.deepEqual(
    (await listJobs(cluster.state.jobs)).map((j) => j.id),
    [id],
    'one job',
  );
  const other = await ask({ id, spec: { ...spec, output: join(dir, 'elsewhere') } });
  assert.ok(!other.ok && /job id .* is taken by another job/.test(other.error ?? ''), other.error);

  // The client's own path (an envelope with a fresh id), and a bare spec from an older client.
  const viaClient = await submitJob(nc, { ...spec, output: join(dir, 'embeddings-2') });
  const bare = await ask({ ...spec, output: join(dir, 'embeddings-3') });
  assert.ok(bare.ok, bare.error);
  assert.notEqual(viaClient.id, bare.job!.id);
  assert.equal((await listJobs(cluster.state.jobs)).length, 3);
});
