import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';

/*
 * The cluster's storage boundary and its failure paths, on a real cluster:
 * keys that leave the storage root are refused (job specs, manifests, model
 * cards) and nothing is written outside it; an encode job whose temp folder
 * is on another filesystem completes; a task whose record update fails
 * still fails its job with the reason.
 */

/** A folder outside the storage root that must stay empty. */
function sentinel(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sci-outside-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('keys outside the storage root are refused in job specs, manifests and model cards', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const outside = sentinel(t);
  const { passages } = await wordnetFixture(dir, 2);
  const cluster = await TestCluster.start({ dir, workers: 1 });
  t.after(() => cluster.stop());

  // Job specs: refused at submission, naming the field.
  for (const [spec, pattern] of [
    [{ kind: 'encode', input: '../x', output: join(dir, 'o') }, /input: .*'\.\.'/],
    [{ kind: 'encode', input: passages, output: `${dir}/../escape` }, /output: .*'\.\.'/],
    [{ kind: 'encode', input: '/etc/x', output: join(dir, 'o') }, /input: storage key "\/etc\/x" is outside the storage root/],
    [{ kind: 'encode', input: passages, output: join(outside, 'o') }, /output: storage key .* is outside the storage root/],
    [{ kind: 'encode', input: passages, output: join(dir, 'o'), encoder: { kind: 'model', path: '/etc' } }, /encoder\.path: storage key "\/etc" is outside/],
    [{ kind: 'index', input: null, output: join(dir, 'o'), bm25: { passages: '/etc/passwd' } }, /bm25\.passages: .*outside the storage root/],
  ] as const) {
    await assert.rejects(cluster.submit(spec as never), pattern, JSON.stringify(spec));
  }

  // A forged task message (no such job): the worker terminates it and the coordinator logs the advisory.
  await cluster.state.js.publish(
    'sci.tasks.encode',
    new TextEncoder().encode(JSON.stringify({ jobId: 'job-forged', stage: 'encode', shardId: 0, spec: { kind: 'encode' } })),
  );

  // A symlink inside the root that points out of it.
  const { symlinkSync } = await import('node:fs');
  symlinkSync(outside, join(dir, 'link-out'));
  await assert.rejects(
    cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'link-out', 'o') }),
    /leads outside the storage root through a symlink/,
  );

  // A manifest whose shard path climbs out: the job fails naming the file and the field.
  const evil = join(dir, 'evil-passages');
  cpSync(passages, evil, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(evil, 'manifest.json'), 'utf8')) as { shards: Array<{ path: string }> };
  manifest.shards[0]!.path = '../../../../etc/passwd';
  manifest.shards[1]!.path = '/etc/passwd';
  writeFileSync(join(evil, 'manifest.json'), JSON.stringify(manifest));
  const bad = await cluster.submit({ kind: 'encode', input: evil, output: join(dir, 'evil-out'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
  const badDone = await cluster.waitDone(bad.id);
  assert.equal(badDone.state, 'failed');
  assert.match(badDone.error ?? '', /shards\.0\.path: expected a file name relative/, badDone.error ?? '');
  await cluster.waitForLog(/refused a task message/);
  await cluster.waitForLog(/a worker terminated a task message/);

  // A model card naming a weight file outside its folder: the task fails, nothing is read there.
  const model = join(dir, 'evil-model');
  mkdirSync(model);
  writeFileSync(
    join(model, 'model-card.json'),
    JSON.stringify({ weights: { file: '/etc/passwd', sha256: '0'.repeat(64) }, tokenizer: { vocab: '../../vocab.txt' } }),
  );
  const byCard = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'card-out'), encoder: { kind: 'model', path: model } });
  const byCardDone = await cluster.waitDone(byCard.id);
  assert.equal(byCardDone.state, 'failed');
  assert.match(byCardDone.error ?? '', /weights\.file "\/etc\/passwd" must be relative to its folder/, byCardDone.error ?? '');

  assert.deepEqual(readdirSync(outside), [], 'nothing was written outside the storage root');
});

test('an encode job completes when the temp folder is on another filesystem than the storage root', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const shm = '/dev/shm';
  let otherFs: string | null = null;
  try {
    if (statSync(shm).dev !== statSync(dir).dev) otherFs = mkdtempSync(join(shm, 'sci-tmp-'));
  } catch {
    otherFs = null;
  }
  if (!otherFs) {
    t.skip(`${shm} is missing or on the same filesystem as ${dir}: no second filesystem to test with`);
    return;
  }
  t.after(() => rmSync(otherFs, { recursive: true, force: true }));
  const { passages } = await wordnetFixture(dir, 2);
  const cluster = await TestCluster.start({ dir, workers: 2, env: { TMPDIR: otherFs } });
  t.after(() => cluster.stop());
  // The baseline encoder has a fit stage: the coordinator merges and publishes the model between stages.
  const job = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'done', `${done.error}\n${cluster.logs()}`);
  assert.ok(statSync(join(dir, 'emb', 'model', 'idf.f32')).size > 0);
});

test('a task whose record update fails still fails its job with the reason', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const { passages } = await wordnetFixture(dir, 1);
  const cluster = await TestCluster.start({ dir, workers: 0 });
  t.after(() => cluster.stop());
  cluster.startWorker({ SCI_FAULT_RECORD_UPDATES: 'fail' });
  // A task that cannot succeed: its passages manifest names a shard that is not there.
  const broken = join(dir, 'broken');
  cpSync(passages, broken, { recursive: true });
  rmSync(
    join(
      broken,
      readdirSync(broken).find((f) => f.endsWith('.arrow'))!,
    ),
  );
  // A model folder that passes the submit check (it has a model card); the passages fail first.
  mkdirSync(join(dir, 'no-model'));
  writeFileSync(join(dir, 'no-model', 'model-card.json'), '{}');
  const job = await cluster.submit({ kind: 'encode', input: broken, output: join(dir, 'out'), encoder: { kind: 'model', path: join(dir, 'no-model') } });
  const done = await cluster.waitDone(job.id, 120_000);
  assert.equal(done.state, 'failed', cluster.logs());
  assert.match(done.error ?? '', /cannot read passages-00000\.arrow.*reported by worker-.*which could not record it/, `${done.error}\n${cluster.logs()}`);
  const tasks = await cluster.tasks(job.id);
  assert.equal(tasks[0]?.state, 'failed');
});
