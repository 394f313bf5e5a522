import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import { FaissIndex } from '../../faiss/index.js';
import { FsStorage } from '../../storage/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts } from '../support/wordnet-fixture.js';

/*
 * An encode job with dtype f16 (real WordNet adverbs, the hashed baseline at 256-d): the set records its dtype,
 * its files hold half the vector bytes, the index job builds on it, and Flat search over it ranks like float32
 * (top-10 for every passage used as a query; only near-ties may swap).
 */

test('encode --dtype f16: half the bytes, the index job widens it, Flat top-10 as with float32', { timeout: 180_000 }, async (t) => {
  const dir = tempDir(t);
  const storage = new FsStorage('/');
  const { passages } = await wordnetFixture(dir, 2, { input: wordnetParts(dir, ['adv']) });
  const sets: Record<string, { bytes: number; dtype: string; index: FaissIndex }> = {};
  for (const dtype of ['f32', 'f16'] as const) {
    const embeddings = join(dir, `emb-${dtype}`);
    await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: 256 }, dtype }, storage, { threads: 2 });
    const manifest = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as { dtype: string; shards: Array<{ bytes: number }> };
    const indexes = join(dir, `idx-${dtype}`);
    await runJobLocally({ kind: 'index', input: embeddings, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }] }, storage, {
      threads: 2,
    });
    sets[dtype] = {
      bytes: manifest.shards.reduce((sum, s) => sum + s.bytes, 0),
      dtype: manifest.dtype,
      index: await FaissIndex.load(join(indexes, 'shard-00000', 'flat.faiss')),
    };
  }
  assert.equal(sets.f32!.dtype, 'f32');
  assert.equal(sets.f16!.dtype, 'f16');
  const vectors = readArrowVectors(join(dir, 'emb-f32', 'embeddings-00000.arrow'), 'embedding');
  const vectorBytes = vectors.count * vectors.dim * 2; // what f16 saves on shard 0 alone: a lower bound for both
  assert.ok(sets.f32!.bytes - sets.f16!.bytes > vectorBytes * 0.9, `${sets.f32!.bytes} → ${sets.f16!.bytes} bytes`);

  const queries = vectors.data;
  const [a, b] = await Promise.all([sets.f32!.index.search(queries, 10), sets.f16!.index.search(queries, 10)]);
  let differ = 0;
  for (let q = 0; q < vectors.count; q++) {
    const ids = (r: { labels: BigInt64Array }) => Array.from(r.labels.subarray(q * 10, q * 10 + 10)).join(',');
    if (ids(a) !== ids(b)) differ += 1;
  }
  t.diagnostic(`${vectors.count} queries: ${differ} top-10 lists differ between float32 and float16 storage`);
  assert.ok(differ <= vectors.count * 0.03, `${differ} of ${vectors.count} top-10 lists differ`);
});
