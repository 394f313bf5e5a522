/*
 * bench/graph-groups: HNSW over a sharded corpus, one graph per shard against
 * one graph per serving group (the index job's graphGroups) against one
 * global graph, in one run. WordNet (117,791 passages) in 8 shards, the
 * baseline encoder at 128-d, HNSW32 built as the group stage builds it (one
 * thread, shard after shard), 1,000 dev queries. For each layout (G graphs
 * over consecutive shards: 1 = global, 8 = per shard) and efSearch 16…512:
 * Recall@10 of the merged top 10 against exact search, and distances per
 * query summed over the graphs; then distances at equal recall against the
 * global graph (goal for the served layout, 2 groups on 2 servers: ≤ 1.5×).
 *
 *   node dist/bench/graph-groups.js [--queries 1000] [--keep]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import { ingestWordnet } from './wordnet.js';
import { devQueryTexts, mergedRecall, valueAtRecall } from './recall.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { HashedTfidfEncoder, loadModel } from '../encoder/index.js';
import { readSetManifest } from '../shards/index.js';
import { groupShards } from '../jobs/index.js';

const K = 10;
const SHARDS = 8;
const GROUPS = [1, 2, 4, 8];
const EF = [16, 32, 64, 128, 256, 512];
const TARGETS = [0.9, 0.95, 0.99];

interface Point {
  efSearch: number;
  recall: number;
  distances: number;
}

const distancesAt = (points: Point[], target: number) => valueAtRecall(points, target, 'distances');

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, queries: { type: 'string', default: '1000' } } });
  const scratch = benchScratch('sci-bench-graphs-', values.keep === true);
  const dir = scratch.dir;
  try {
    const storage = new FsStorage('/');
    console.log(`bench/graph-groups: WordNet in ${SHARDS} shards, baseline encoder 128-d, HNSW32 (ip), ${values.queries} dev queries …`);
    const passages = join(dir, 'passages');
    await ingestWordnet(passages, SHARDS);
    const embeddings = join(dir, 'embeddings');
    await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: 128 } }, storage, { threads: 2 });
    const shards = (await readSetManifest(storage, embeddings, 'embeddings')).shards;
    const vectors = new Map(shards.map((s) => [s.id, readArrowVectors(join(embeddings, s.path), 'embedding')]));
    const exactIndex = FaissIndex.create({ dim: 128, factory: 'Flat', metric: 'ip' });
    for (const v of vectors.values()) await exactIndex.add(v.data, v.ids);
    const encoder = new HashedTfidfEncoder(loadModel(join(embeddings, 'model', 'encoder.json'), join(embeddings, 'model', 'idf.f32')));
    const texts = devQueryTexts(passages, Number(values.queries));
    const queries = encoder.encode(texts);
    const nq = texts.length;
    setFaissThreads(2);
    const truth = await exactIndex.search(queries, K);
    const exact = Array.from({ length: nq }, (_, q) => new Set(Array.from(truth.labels.subarray(q * K, q * K + K), Number)));

    const sweeps = new Map<number, Point[]>();
    for (const groups of GROUPS) {
      // Built as the group stage builds them: one thread (a deterministic graph), shard after shard.
      setFaissThreads(1);
      const started = performance.now();
      const graphs: FaissIndex[] = [];
      for (let g = 0; g < groups; g++) {
        const graph = FaissIndex.create({ dim: 128, factory: 'HNSW32,Flat', metric: 'ip' });
        for (const id of groupShards(
          shards.map((s) => s.id),
          g,
          groups,
        ))
          await graph.add(vectors.get(id)!.data, vectors.get(id)!.ids);
        graphs.push(graph);
      }
      const buildSeconds = (performance.now() - started) / 1000;
      setFaissThreads(2);
      const points: Point[] = [];
      for (const efSearch of EF) {
        const results = await Promise.all(graphs.map((g) => g.search(queries, K, { efSearch })));
        points.push({ efSearch, recall: mergedRecall(results, exact, K), distances: results.reduce((s, r) => s + r.counters.ndis, 0) / nq });
      }
      sweeps.set(groups, points);
      console.log(
        `${groups} graph(s) of ~${Math.round(117_791 / groups)} rows (built in ${buildSeconds.toFixed(0)} s, one thread): ` +
          points.map((p) => `ef ${p.efSearch}: R@10 ${p.recall.toFixed(4)} ${p.distances.toFixed(0)} dist/q`).join('; '),
      );
    }
    const global = sweeps.get(1)!;
    const table = TARGETS.map((target) => ({
      target,
      global: distancesAt(global, target),
      groups: Object.fromEntries(GROUPS.slice(1).map((g) => [g, distancesAt(sweeps.get(g)!, target)])),
    }));
    for (const row of table) {
      console.log(
        `Recall@10 = ${row.target}: one graph ${row.global?.toFixed(0) ?? '-'} dist/q; ` +
          GROUPS.slice(1)
            .map((g) => {
              const d = row.groups[g];
              return `${g} graphs ${d?.toFixed(0) ?? '-'} (${d && row.global ? `×${(d / row.global).toFixed(2)}` : '-'})`;
            })
            .join(', '),
      );
    }
    const served = table.map((r) => (r.groups[2] && r.global ? r.groups[2] / r.global : null)).filter((x): x is number => x !== null);
    const worst = Math.max(...served);
    console.log(
      `2 groups (one graph per server of 2) against one graph: up to ×${worst.toFixed(2)} the distances at equal recall (goal ≤ 1.5${worst <= 1.5 ? ', met' : ', missed'})`,
    );
    console.log(JSON.stringify({ bench: 'graph-groups', shards: SHARDS, queries: nq, sweeps: Object.fromEntries(sweeps), table }));
  } finally {
    scratch.done();
  }
}

await main();
