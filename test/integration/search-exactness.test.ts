import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { FaissIndex } from '../../faiss/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { loadBm25, mergeCorpusStats, searchBm25Set } from '../../bm25/index.js';
import { splitQueryTexts, wordnetFixture } from '../support/wordnet-fixture.js';
import { LoopbackSearch } from '../support/served-set.js';
import { tempDir } from '../support/paths.js';
import { assertSameTopK, referenceOf } from '../support/topk.js';

/*
 * Scatter-gather exactness: for every WordNet dev query, the top-10 merged
 * from 4 and from 8 Flat shards (served over a real nats-server) equals one
 * global Flat index's; BM25 with distributed statistics equals the
 * corpus-wide BM25 of the same shards.
 */

for (const shards of [4, 8]) {
  test(`sharded Flat top-10 over ${shards} shards equals a global Flat index for every dev query`, { timeout: 300_000 }, async (t) => {
    const dir = tempDir(t, 'sci-exact-');
    const search = await LoopbackSearch.start(t, 'exactness-test');
    const storage = new FsStorage('/');
    const { passages, embeddings } = await wordnetFixture(dir, shards, { embeddings: true, dim: 64 });
    const indexes = join(dir, 'indexes');
    await runJobLocally(
      { kind: 'index', input: embeddings!, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }], bm25: { passages } },
      storage,
      { threads: 2 },
    );
    // Two server processes' worth: shards split between two servers.
    const service = await search.serve(storage, indexes, shards, { deadlineMs: 30_000 });

    const global = FaissIndex.create({ dim: 64, factory: 'Flat', metric: 'ip' });
    const manifest = JSON.parse(readFileSync(join(embeddings!, 'manifest.json'), 'utf8')) as { shards: Array<{ path: string }> };
    for (const shard of manifest.shards) {
      const v = readArrowVectors(join(embeddings!, shard.path), 'embedding');
      await global.add(v.data, v.ids);
    }
    const queries = splitQueryTexts(passages);
    assert.ok(queries.length > 4000, `${queries.length} dev queries`);
    const k = 10;
    let compared = 0;
    let tiesReordered = 0;
    for (let from = 0; from < queries.length; from += 256) {
      const batch = queries.slice(from, from + 256);
      const vectors = await service.encode(batch, 'query');
      const routed = await service.search({ index: 'flat', vectors, k });
      assert.equal(routed.partial, false);
      const expected = await global.search(vectors, k);
      routed.hits.forEach((hits, q) => {
        if (assertSameTopK(hits, referenceOf(expected, q, k), `query ${from + q}`)) tiesReordered += 1;
        compared += 1;
      });
    }
    assert.equal(compared, queries.length);
    t.diagnostic(`${compared} dev queries compared, ${tiesReordered} queries ordered (near-)equal scores differently`);

    // BM25: distributed statistics give the corpus-wide scores.
    const sample = queries.slice(0, 200);
    const routed = await service.search({ index: 'bm25', queries: sample, k });
    const shardIndexes = Array.from({ length: shards }, (_, s) => loadBm25(join(indexes, `shard-${String(s).padStart(5, '0')}`, 'bm25')));
    const set = { dir: indexes, shards: shardIndexes, corpusStats: mergeCorpusStats(shardIndexes) };
    sample.forEach((q, i) => {
      const expected = searchBm25Set(set, q, k, { stats: 'corpus' });
      assert.deepEqual(
        routed.hits[i]!.map((h) => h.externalId),
        expected.map((h) => h.externalId),
        `BM25 query ${i}`,
      );
    });
  });
}
