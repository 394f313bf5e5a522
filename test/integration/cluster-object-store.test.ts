import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openObjectStore } from '../../jobs/index.js';
import { NatsObjectStorage } from '../../storage/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { TestCluster } from '../support/cluster.js';
import { runSci } from '../support/cli.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';

/*
 * Clusters without a shared filesystem, as a user runs them: storage.kind
 * nats-object-store. `sci ingest` stores its set in the object store, jobs
 * read and write only there (workers download inputs, verified by digest,
 * into their own cache and upload outputs), and `sci storage ls|get|put|rm`
 * move files in and out.
 */

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

interface SetManifest {
  rowsIn: number;
  shards: Array<{ path: string; rows: number; sha256: string }>;
}

test('the object store as the only storage: ingest into it, jobs on it, sets in and out with sci storage', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  const dict = wordnetVerbsAndAdverbs(dir);
  const cluster = await TestCluster.start({ dir, workers: 2, storage: 'nats-object-store' });
  t.after(() => cluster.stop());
  // The operator's CLI, as the cluster's processes see the storage (and with its own cache).
  const env = { ...cluster.env, ...cluster.roleEnv('cli'), SCI_STORAGE__CACHE__DIR: join(dir, 'cli-cache') };
  const sci = async (args: string[], expectCode = 0) => {
    const result = await runSci(args, { env });
    assert.equal(result.code, expectCode, `sci ${args.join(' ')}: ${result.stderr}${result.stdout}`);
    return result;
  };

  const ingest = await sci(['ingest', '--format', 'wordnet', '--input', dict, '--out', 'wordnet/passages', '--shards', '3']);
  assert.match(ingest.stdout, /manifest {3}wordnet\/passages\/manifest\.json \(object store\)/);
  const listed = JSON.parse((await sci(['storage', 'ls', 'wordnet/passages', '--json'])).stdout) as { files: Array<{ key: string; bytes: number }> };
  const keys = listed.files.map((f) => f.key);
  for (const key of [
    'wordnet/passages/manifest.json',
    'wordnet/passages/passages-00000.arrow',
    'wordnet/passages/passages-00002.arrow',
    'wordnet/passages/queries.jsonl',
  ])
    assert.ok(keys.includes(key), `${key} in ${keys.join(', ')}`);
  // The stored shards are the ones a local ingest of the same input writes, byte for byte.
  const local = await wordnetFixture(join(dir, 'local'), 3, { input: dict });
  const localManifest = JSON.parse(readFileSync(join(local.passages, 'manifest.json'), 'utf8')) as SetManifest;
  const storage = new NatsObjectStorage(await openObjectStore(cluster.state.js), { dir: join(dir, 'test-cache') });
  const stored = JSON.parse(await storage.readText('wordnet/passages/manifest.json')) as SetManifest;
  assert.deepEqual(
    stored.shards.map((s) => [s.path, s.rows, s.sha256]),
    localManifest.shards.map((s) => [s.path, s.rows, s.sha256]),
  );

  const encode = await cluster.submit({ kind: 'encode', input: 'wordnet/passages', output: 'wordnet/embeddings', encoder: { kind: 'hashed-tfidf', dim: 32 } });
  const encoded = await cluster.waitDone(encode.id);
  assert.equal(encoded.state, 'done', encoded.error ?? '');
  assert.equal(encoded.outputManifest, 'wordnet/embeddings/manifest.json');
  const manifest = JSON.parse(await storage.readText('wordnet/embeddings/manifest.json')) as SetManifest;
  assert.equal(manifest.shards.length, 3);
  let rows = 0;
  for (const shard of manifest.shards) {
    const path = await storage.localPath(`wordnet/embeddings/${shard.path}`);
    assert.equal(sha256(path), shard.sha256);
    const vectors = readArrowVectors(path, 'embedding');
    assert.equal(vectors.count, shard.rows);
    rows += vectors.count;
  }
  assert.equal(rows, manifest.rowsIn);
  assert.equal(rows, stored.rowsIn);
  assert.ok(await storage.exists('wordnet/embeddings/model/idf.f32'));
  assert.equal(await storage.exists('wordnet/nothing-here'), false);

  // A host that lost its cache fetches again: the next job reads every embedding shard from the store.
  const workerCache = join(dir, 'object-cache');
  assert.ok(existsSync(workerCache) && readdirSync(workerCache).length > 0, 'the workers cached what they read');
  rmSync(workerCache, { recursive: true, force: true });
  const index = await cluster.submit({
    kind: 'index',
    input: 'wordnet/embeddings',
    output: 'wordnet/indexes',
    indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }],
  });
  const indexed = await cluster.waitDone(index.id);
  assert.equal(indexed.state, 'done', indexed.error ?? '');
  assert.ok(existsSync(workerCache), 'the inputs were fetched again into the emptied cache');

  // Out and back in: get checks digests on the way, put stores a folder, rm needs --recursive for a prefix.
  const out = join(dir, 'got');
  const got = await sci(['storage', 'get', 'wordnet/embeddings', out]);
  assert.match(got.stdout, /^copied \d+ file\(s\)/);
  for (const shard of manifest.shards) assert.equal(sha256(join(out, shard.path)), shard.sha256);
  writeFileSync(join(out, 'note.txt'), 'kept beside the set\n');
  await sci(['storage', 'put', out, 'copies/embeddings']);
  const copies = JSON.parse((await sci(['storage', 'ls', 'copies/embeddings', '--json'])).stdout) as { files: Array<{ key: string }> };
  assert.ok(copies.files.some((f) => f.key === 'copies/embeddings/note.txt'));
  assert.equal(await storage.readText('copies/embeddings/manifest.json'), readFileSync(join(out, 'manifest.json'), 'utf8'));
  const refused = await sci(['storage', 'rm', 'copies/embeddings'], 2);
  assert.match(refused.stderr, /is a prefix of \d+ file\(s\): give --recursive/);
  await sci(['storage', 'rm', 'copies/embeddings', '--recursive']);
  const after = JSON.parse((await sci(['storage', 'ls', 'copies', '--json'])).stdout) as { files: unknown[] };
  assert.deepEqual(after.files, []);
  assert.equal(await storage.exists('copies/embeddings/manifest.json'), false);
  assert.ok(await storage.exists('wordnet/embeddings/manifest.json'), 'rm removed only its prefix');
});
