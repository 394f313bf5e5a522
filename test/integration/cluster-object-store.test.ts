import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { openObjectStore } from '../../jobs/index.js';
import { NatsObjectStorage, uploadDir } from '../../storage/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';

/*
 * Clusters without a shared filesystem: shards, models and outputs live in
 * the NATS object store; workers download inputs (verified by digest) and
 * upload outputs.
 */
test('an encode job with every file in the NATS object store', { timeout: 240_000 }, async (t) => {
  const dir = tempDir(t);
  const { passages } = await wordnetFixture(dir, 3);
  const cluster = await TestCluster.start({ dir, workers: 2, storage: 'nats-object-store' });
  t.after(() => cluster.stop());
  const storage = new NatsObjectStorage(await openObjectStore(cluster.state.js), `${dir}/cache`);
  const keys = await uploadDir(storage, passages, 'wordnet/passages');
  assert.ok(keys.includes('wordnet/passages/manifest.json'));
  assert.ok(keys.includes('wordnet/passages/passages-00002.arrow'));

  const job = await cluster.submit({ kind: 'encode', input: 'wordnet/passages', output: 'wordnet/embeddings', encoder: { kind: 'hashed-tfidf', dim: 32 } });
  const done = await cluster.waitDone(job.id);
  assert.equal(done.state, 'done', done.error ?? '');
  assert.equal(done.outputManifest, 'wordnet/embeddings/manifest.json');
  const manifest = JSON.parse(await storage.readText('wordnet/embeddings/manifest.json')) as {
    rowsIn: number;
    shards: Array<{ path: string; rows: number; sha256: string }>;
  };
  assert.equal(manifest.shards.length, 3);
  let rows = 0;
  for (const shard of manifest.shards) {
    const local = await storage.localPath(`wordnet/embeddings/${shard.path}`);
    assert.equal(createHash('sha256').update(readFileSync(local)).digest('hex'), shard.sha256);
    const vectors = readArrowVectors(local, 'embedding');
    assert.equal(vectors.count, shard.rows);
    rows += vectors.count;
  }
  assert.equal(rows, manifest.rowsIn);
  assert.ok(await storage.exists('wordnet/embeddings/model/idf.f32'));
  assert.equal(await storage.exists('wordnet/nothing-here'), false);
});
