import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import type { JobSpecInput } from '../../jobs/index.js';
import { FsStorage, sha256 } from '../../storage/index.js';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts } from '../support/wordnet-fixture.js';

/*
 * Deterministic input faults are not retried: in each folder that reads a
 * task's inputs (shards, vectors, faiss, bm25, encoder), a malformed file —
 * its bytes replaced and the manifest's checksum updated to match, so that
 * only the reader can tell — fails the task on its first delivery with a
 * typed error, on a cluster that would otherwise deliver it four times.
 */

let dir = '';
let passages = '';
let embeddings = '';
let indexes = '';
const storage = new FsStorage('/');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sci-input-faults-'));
  ({ passages, embeddings } = (await wordnetFixture(dir, 2, { embeddings: true, dim: 16, input: wordnetParts(dir, ['adv']) })) as {
    passages: string;
    embeddings: string;
  });
  indexes = join(dir, 'indexes');
  await runJobLocally(
    { kind: 'index', input: embeddings, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }], bm25: { passages } },
    storage,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

const JUNK = Buffer.from('this is not the file its name says it is\n'.repeat(40));

/** A copy of a set with one file's bytes replaced and every manifest entry naming it updated to the junk's checksum and size. */
async function corrupted(set: string, file: (names: string[]) => string, name: string): Promise<string> {
  const copy = join(dir, name);
  cpSync(set, copy, { recursive: true });
  const relative = file(readdirSync(copy, { recursive: true }) as string[]);
  writeFileSync(join(copy, relative), JUNK);
  const { sha256: digest, bytes } = await sha256(join(copy, relative));
  const manifestPath = join(copy, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as unknown;
  let updated = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== 'object' || node === null) return;
    const entry = node as Record<string, unknown>;
    if (entry.path === relative && typeof entry.sha256 === 'string') {
      entry.sha256 = digest;
      entry.bytes = bytes;
      updated += 1;
    }
    Object.values(entry).forEach(visit);
  };
  visit(manifest);
  assert.ok(updated > 0, `${relative} is listed in ${manifestPath}`);
  writeFileSync(manifestPath, JSON.stringify(manifest));
  return copy;
}

test('a malformed input in each reading folder fails its task on the first delivery, with a typed error', { timeout: 300_000 }, async (t) => {
  const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: dir, workers: 1, maxDeliver: 4 });
  t.after(() => cluster.stop());
  const firstShard = (names: string[]) => names.find((n) => /passages-0+0?\.arrow$|00000\.arrow$/.test(n))!;
  const cases: Array<{ folder: string; spec: () => Promise<JobSpecInput>; code: RegExp }> = [
    {
      folder: 'shards (a passage shard that is not Arrow)',
      spec: async () => ({ kind: 'encode', input: await corrupted(passages, firstShard, 'bad-passages'), output: join(dir, 'out-shards') }),
      code: /SHARD_FORMAT/,
    },
    {
      folder: 'vectors (an embedding shard that is not Arrow)',
      spec: async () => ({
        kind: 'index',
        input: await corrupted(embeddings, firstShard, 'bad-embeddings'),
        output: join(dir, 'out-vectors'),
        indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }],
      }),
      code: /VECTOR_FILE/,
    },
    {
      folder: 'faiss (an index file that is not a Faiss index)',
      spec: async () => ({
        kind: 'mine',
        input: await corrupted(indexes, (names) => names.find((n) => n.endsWith('flat.faiss'))!, 'bad-faiss'),
        output: join(dir, 'out-faiss'),
        queries: { passages, split: 'train' },
        source: { kind: 'dense', index: 'flat' },
      }),
      code: /FAISS_/,
    },
    {
      folder: 'bm25 (a BM25 file that is not one)',
      spec: async () => ({
        kind: 'mine',
        input: await corrupted(indexes, (names) => names.find((n) => n.endsWith('meta.json') && n.includes('bm25'))!, 'bad-bm25'),
        output: join(dir, 'out-bm25'),
        queries: { passages, split: 'train' },
        source: { kind: 'bm25' },
      }),
      code: /BM25_/,
    },
  ];
  for (const { folder, spec, code } of cases) {
    const job = await cluster.submit(await spec());
    const done = await cluster.waitDone(job.id, 120_000);
    assert.equal(done.state, 'failed', `${folder}: ${done.error}`);
    assert.match(done.error ?? '', code, folder);
    const failed = (await cluster.tasks(job.id)).filter((task) => task.state === 'failed');
    assert.ok(failed.length > 0, folder);
    for (const task of failed)
      assert.equal(task.deliveries, 1, `${folder}: ${task.stage} ${task.shardId} failed on delivery ${task.deliveries}: ${task.error}`);
  }
});
