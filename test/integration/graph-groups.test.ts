import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pino from 'pino';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { FaissIndex, setFaissThreads } from '../../faiss/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { readSetManifest } from '../../shards/index.js';
import { SearchService, ShardServer } from '../../search/index.js';
import { connectNats, NatsServerProcess } from '../../messaging/index.js';
import { splitQueryTexts, wordnetFixture, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';
import { tempDir } from '../support/paths.js';

/*
 * One graph per serving group (the index job's graphGroups): WordNet's verbs
 * and adverbs in 6 shards, HNSW32 per shard and, in a group stage, once per
 * group of 3 consecutive shards. Served as graph groups (two servers on a
 * real nats-server), every dev query's top 10 equals the two graphs built
 * in-process the same way (one thread, shard after shard), merged; each
 * hit carries its external id and text. A query walks 2 graphs instead of 6,
 * with fewer distances at the same efSearch.
 */

const silent = pino({ level: 'silent' });

test('graph groups: one HNSW graph per group of shards, served and searched like the in-process graphs', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t, 'sci-graph-groups-');
  const storage = new FsStorage('/');
  const { passages, embeddings } = await wordnetFixture(dir, 6, { embeddings: true, dim: 32, input: wordnetVerbsAndAdverbs(dir) });
  const indexes = join(dir, 'indexes');
  const { job } = await runJobLocally(
    {
      kind: 'index',
      input: embeddings!,
      output: indexes,
      indexes: [
        { name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip', efSearch: 32 },
        { name: 'flat', factory: 'Flat', metric: 'ip' },
      ],
      graphGroups: { groups: 2 },
    },
    storage,
    { threads: 2 },
  );
  assert.deepEqual(job.stages, ['index', 'group']);
  const set = await readSetManifest(storage, indexes, 'indexes');
  const rows = set.shards.reduce((n, s) => n + s.rows, 0);
  assert.deepEqual(set.groups!.indexes, ['hnsw'], 'only graph indexes are grouped');
  assert.deepEqual(
    set.groups!.parts.map((p) => p.rows),
    [0, 1].map((g) => set.shards.filter((s) => Math.floor(s.id / 3) === g).reduce((n, s) => n + s.rows, 0)),
    'each group holds its 3 shards',
  );
  assert.equal(
    set.groups!.parts.reduce((n, p) => n + p.rows, 0),
    rows,
  );

  // The reference: the same two graphs built here, as the group stage builds them.
  const manifest = await readSetManifest(storage, embeddings!, 'embeddings');
  setFaissThreads(1);
  const graphs: FaissIndex[] = [];
  for (const group of [manifest.shards.slice(0, 3), manifest.shards.slice(3)]) {
    const graph = FaissIndex.create({ dim: 32, factory: 'HNSW32,Flat', metric: 'ip' });
    for (const shard of group) {
      const v = readArrowVectors(join(embeddings!, shard.path), 'embedding');
      await graph.add(v.data, v.ids);
    }
    graphs.push(graph);
  }

  const nats = await NatsServerProcess.start();
  const nc = await connectNats({ servers: [nats.url], name: 'graph-groups-test' });
  const servers = [0, 1].map((g) => new ShardServer({ nc, storage, indexSet: indexes, shards: [g], layout: 'groups', logger: silent }));
  const sharded = new ShardServer({ nc, storage, indexSet: indexes, logger: silent });
  for (const server of [...servers, sharded]) await server.start();
  const grouped = await SearchService.open({ nc, storage, indexSet: indexes, logger: silent, layout: 'groups', deadlineMs: 30_000 });
  const perShard = await SearchService.open({ nc, storage, indexSet: indexes, logger: silent, deadlineMs: 30_000 });
  t.after(async () => {
    grouped.close();
    perShard.close();
    for (const server of [...servers, sharded]) await server.stop();
    await nc.close();
    await nats.stop({ clean: true });
  });

  const queries = splitQueryTexts(passages);
  const k = 10;
  let distances = { grouped: 0, perShard: 0 };
  for (let from = 0; from < queries.length; from += 256) {
    const batch = await grouped.encode(queries.slice(from, from + 256), 'query');
    const served = await grouped.search({ index: 'hnsw', vectors: batch, k });
    assert.equal(served.partial, false);
    assert.deepEqual(Object.keys(served.shardMs).map(Number).sort(), [0, 1], 'both groups answer');
    const expected = await Promise.all(graphs.map((g) => g.search(batch, k, { efSearch: 32 })));
    served.hits.forEach((hits, q) => {
      const merged = expected
        .flatMap((r) => Array.from({ length: k }, (_, j) => ({ rowId: Number(r.labels[q * k + j]!), score: r.distances[q * k + j]! })))
        .filter((h) => h.rowId >= 0)
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
      assert.deepEqual(
        hits.map((h) => h.score),
        merged.map((h) => h.score),
        `query ${from + q}`,
      );
      assert.deepEqual(new Set(hits.map((h) => h.rowId)), new Set(merged.map((h) => h.rowId)), `query ${from + q}`);
      assert.ok(hits.every((h) => h.externalId !== ''));
    });
    distances.grouped += served.counters.ndis;
    distances.perShard += (await perShard.search({ index: 'hnsw', vectors: batch, k })).counters.ndis;
  }
  distances = { grouped: distances.grouped / queries.length, perShard: distances.perShard / queries.length };
  t.diagnostic(
    `${queries.length} dev queries equal; distances per query at efSearch 32: 2 graphs ${distances.grouped.toFixed(0)}, 6 per-shard graphs ${distances.perShard.toFixed(0)}`,
  );
  assert.ok(distances.grouped < 0.6 * distances.perShard, `${distances.grouped} vs ${distances.perShard}`);

  // A hit's text comes from the data shard holding its row, through the group that found it.
  const [withText] = (await grouped.search({ index: 'hnsw', queries: queries.slice(0, 1), k, fields: ['text'] })).hits;
  assert.ok(withText!.every((h) => typeof h.text === 'string' && h.text.length > 0));
  // Only the grouped indexes are searchable this way.
  await assert.rejects(() => grouped.search({ index: 'flat', queries: queries.slice(0, 1), k }), /no index "flat" on its graph groups \(it has: hnsw\)/);
});
