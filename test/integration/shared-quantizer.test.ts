import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { FaissIndex } from '../../faiss/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { readSetManifest } from '../../shards/index.js';
import { splitQueryTexts, wordnetFixture, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';
import { LoopbackSearch } from '../support/served-set.js';
import type { SearchService } from '../../search/index.js';
import { tempDir } from '../support/paths.js';
import { assertSameTopK, referenceOf } from '../support/topk.js';

/*
 * A shared quantizer (the index job's sharedQuantizer: a sample stage, one
 * train stage, then the shards): IVF-Flat and IVF-PQ served over 4 and 8
 * shards (real nats-server, two shard servers) equal one global index built
 * on the job's trained parameters holding every shard's rows, at the same
 * nprobe, for every WordNet dev query. Per-shard training (no shared
 * quantizer) is searched the same way as a control: it must not equal it.
 */

const NPROBE = 4;
const ROUTED_PARTITIONS = 3;
const INDEXES = [
  { name: 'ivf', factory: 'IVF64,Flat', metric: 'ip' as const, nprobe: NPROBE },
  { name: 'ivfpq', factory: 'IVF64,PQ16', metric: 'ip' as const, nprobe: NPROBE },
];

for (const shards of [4, 8]) {
  test(`a shared quantizer over ${shards} shards: sharded IVF-Flat and IVF-PQ equal one global index at the same nprobe`, { timeout: 300_000 }, async (t) => {
    const dir = tempDir(t, 'sci-shared-q-');
    const search = await LoopbackSearch.start(t, 'shared-quantizer-test');
    const storage = new FsStorage('/');
    // Verbs and adverbs (a sixth of WordNet, ~20k passages): every dev query of the slice is compared.
    const { passages, embeddings } = await wordnetFixture(dir, shards, { embeddings: true, dim: 64, input: wordnetVerbsAndAdverbs(dir) });
    const indexes = join(dir, 'indexes');
    const { job } = await runJobLocally(
      {
        kind: 'index',
        input: embeddings!,
        output: indexes,
        indexes: shards === 4 ? [...INDEXES, { name: 'flat', factory: 'Flat', metric: 'ip' as const }] : INDEXES,
        sharedQuantizer: { sampleRows: 16_384 },
        // Over 4 shards the IVF lists are also placed on 3 routed partitions (checked below).
        routed: shards === 4 ? { partitions: ROUTED_PARTITIONS } : null,
      },
      storage,
      { threads: 2 },
    );
    assert.deepEqual(job.stages, shards === 4 ? ['sample', 'train', 'index', 'route'] : ['sample', 'train', 'index']);
    // The index stage takes only what this job's train stage listed (never a stale file another job left in the folder).
    assert.deepEqual(JSON.parse(readFileSync(join(indexes, 'trained', 'trained.json'), 'utf8')), { jobId: job.id, indexes: ['ivf', 'ivfpq'] });
    const set = await readSetManifest(storage, indexes, 'indexes');
    for (const index of set.indexes.filter((i) => i.name !== 'flat')) {
      assert.ok(index.quantizer, `${index.name} names its shared quantizer`);
      assert.ok(Math.abs(index.quantizer.sampleRows - 16_384) <= shards, `${index.quantizer.sampleRows} training rows`);
    }
    const service = await search.serve(storage, indexes, shards, { deadlineMs: 30_000 });

    // The global references: the job's trained, empty indexes holding every shard's rows.
    const vectors = readSetManifest(storage, embeddings!, 'embeddings').then((m) =>
      m.shards.map((s) => readArrowVectors(join(embeddings!, s.path), 'embedding')),
    );
    const globals = new Map<string, FaissIndex>();
    for (const index of set.indexes.filter((i) => i.name !== 'flat')) {
      const global = await FaissIndex.load(join(indexes, index.quantizer!.path));
      assert.equal(global.size, 0, 'the trained index is stored empty');
      for (const v of await vectors) await global.add(v.data, v.ids);
      globals.set(index.name, global);
    }

    const queries = splitQueryTexts(passages);
    const k = 10;
    for (const index of INDEXES) {
      let tiesReordered = 0;
      for (let from = 0; from < queries.length; from += 256) {
        const batch = await service.encode(queries.slice(from, from + 256), 'query');
        const routed = await service.search({ index: index.name, vectors: batch, k, nprobe: NPROBE });
        assert.equal(routed.partial, false);
        const expected = await globals.get(index.name)!.search(batch, k, { nprobe: NPROBE });
        routed.hits.forEach((hits, q) => {
          if (assertSameTopK(hits, referenceOf(expected, q, k), `${index.name} query ${from + q}`)) tiesReordered += 1;
        });
      }
      t.diagnostic(`${index.name}: ${queries.length} dev queries equal at nprobe ${NPROBE} (${tiesReordered} with tied scores ordered differently)`);
    }

    if (shards === 4) await checkRouted(t, storage, indexes, search, service, queries, globals);

    // The control: each shard trained on its own rows does not give the global answer.
    if (shards === 4) {
      const own = join(dir, 'own-quantizers');
      await runJobLocally({ kind: 'index', input: embeddings!, output: own, indexes: INDEXES.slice(0, 1) }, storage, { threads: 2 });
      const ownService = await search.serve(storage, own, shards, { deadlineMs: 30_000 });
      const batch = await ownService.encode(queries.slice(0, 256), 'query');
      const routed = await ownService.search({ index: 'ivf', vectors: batch, k, nprobe: NPROBE });
      const expected = await globals.get('ivf')!.search(batch, k, { nprobe: NPROBE });
      const differing = routed.hits.filter((hits, q) => hits.map((h) => h.rowId).join() !== referenceOf(expected, q, k).ids.join()).length;
      t.diagnostic(`per-shard quantizers: ${differing} of 256 queries differ from the global IVF`);
      assert.ok(differing > 25, `${differing} of 256 differ`);
    }
  });
}

/**
 * Routed IVF over the same job: the lists placed on 3 partitions (one server each), every query
 * assigned once by the router. Every dev query's top 10 equals data-sharded search at the same
 * nprobe, the same lists are scanned (equal distance counts), and only the partitions owning a
 * query's probed lists are asked.
 */
async function checkRouted(
  t: { diagnostic: (m: string) => void },
  storage: FsStorage,
  indexes: string,
  search: LoopbackSearch,
  sharded: SearchService,
  queries: string[],
  globals: Map<string, FaissIndex>,
): Promise<void> {
  const set = await readSetManifest(storage, indexes, 'indexes');
  const routedSet = set.routed!;
  assert.equal(routedSet.partitions, ROUTED_PARTITIONS);
  assert.deepEqual(routedSet.indexes, ['ivf', 'ivfpq'], 'only the IVF indexes are routed');
  const totalRows = set.shards.reduce((n, s) => n + s.rows, 0);
  assert.equal(
    routedSet.parts.reduce((n, p) => n + p.rows, 0),
    totalRows * 2,
    'every row of both indexes is on exactly one partition',
  );
  const routed = await search.serveRouted(storage, indexes, ROUTED_PARTITIONS);
  const k = 10;
  for (const index of ['ivf', 'ivfpq']) {
    const placement = JSON.parse(readFileSync(join(indexes, routedSet.parts[0]!.files.find((f) => f.role === `placement:${index}`)!.path), 'utf8')) as {
      owner: number[];
      load: number[];
    };
    t.diagnostic(`${index}: partition loads ${placement.load.join(' / ')} rows (${totalRows} in all)`);
    assert.ok(Math.max(...placement.load) <= 1.34 * (totalRows / ROUTED_PARTITIONS), 'balanced by list size');
    let tiesReordered = 0;
    for (let from = 0; from < queries.length; from += 256) {
      const batch = await sharded.encode(queries.slice(from, from + 256), 'query');
      const [viaPartitions, viaShards] = await Promise.all([
        routed.search({ index, vectors: batch, k, nprobe: NPROBE }),
        sharded.search({ index, vectors: batch, k, nprobe: NPROBE }),
      ]);
      assert.equal(viaPartitions.partial, false);
      assert.equal(viaPartitions.counters.ndis, viaShards.counters.ndis, 'the same lists are scanned');
      viaPartitions.hits.forEach((hits, q) => {
        const reference = { ids: viaShards.hits[q]!.map((h) => h.rowId), scores: viaShards.hits[q]!.map((h) => h.score) };
        if (assertSameTopK(hits, reference, `routed ${index} query ${from + q}`, 0)) tiesReordered += 1;
        hits.forEach((h, r) => h.rowId === viaShards.hits[q]![r]!.rowId && assert.equal(h.externalId, viaShards.hits[q]![r]!.externalId));
      });
    }
    t.diagnostic(
      `routed ${index}: ${queries.length} dev queries equal data-sharded search at nprobe ${NPROBE} (${tiesReordered} with tied scores ordered differently)`,
    );
    // One query at a time: only the owners of its probed lists answer.
    const quantizer = globals.get(index)!;
    let asked = 0;
    for (const text of queries.slice(0, 50)) {
      const vector = await sharded.encode([text], 'query');
      const { lists } = await quantizer.assign(vector, NPROBE);
      const owners = new Set(Array.from(lists, (l) => placement.owner[Number(l)]!));
      const response = await routed.search({ index, vectors: vector, k, nprobe: NPROBE });
      assert.deepEqual(new Set(Object.keys(response.shardMs).map(Number)), owners);
      asked += owners.size;
    }
    // nprobe past the list count means every list: clamped before the router assigns (256 × 65,536 entries would be 134 MB per partition).
    const everyList = await routed.search({ index, vectors: await sharded.encode(queries.slice(0, 256), 'query'), k, nprobe: 65_536 });
    const exhaustive = await sharded.search({ index, vectors: await sharded.encode(queries.slice(0, 256), 'query'), k, nprobe: 64 });
    assert.equal(everyList.partial, false);
    assert.equal(everyList.counters.ndis, exhaustive.counters.ndis, 'nprobe 65536 scans the 64 lists there are');
    // Hits read their text from the data shard holding the row, through the partition that found them.
    const [withText] = (await routed.search({ index, queries: queries.slice(0, 1), k, nprobe: NPROBE, fields: ['title', 'text'] })).hits;
    const [sameQuery] = (await sharded.search({ index, queries: queries.slice(0, 1), k, nprobe: NPROBE, fields: ['title', 'text'] })).hits;
    assert.ok(withText!.every((h) => h.text !== undefined && h.text.length > 0));
    withText!.forEach((h) => {
      const twin = sameQuery!.find((s) => s.rowId === h.rowId);
      if (twin) assert.deepEqual([h.title, h.text], [twin.title, twin.text]);
    });
    t.diagnostic(`routed ${index}: ${(asked / 50).toFixed(2)} of ${ROUTED_PARTITIONS} partitions asked per query (nprobe ${NPROBE})`);
  }
}
