/*
 * bench/shared-quantizer: sharded IVF with one quantizer trained for the
 * whole set (the index job's sharedQuantizer) against the baseline of every
 * shard training its own, in the same run: WordNet (117,791 passages) in 8
 * shards, the baseline encoder at 128-d, IVF256,Flat (ip), 1,000 dev
 * queries; for nprobe 1…256, Recall@10 against exact search (one global
 * Flat) and distances computed per query summed over the shards; then, at
 * equal recall, the nprobe and distances each layout needs.
 *
 *   node dist/bench/shared-quantizer.js [--shards 8] [--nlist 256] [--queries 1000] [--keep]
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

const K = 10;
const NPROBES = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const TARGETS = [0.8, 0.9, 0.95];

interface Point {
  nprobe: number;
  recall: number;
  distances: number;
}

async function sweep(indexes: FaissIndex[], queries: Float32Array, nq: number, exact: Array<Set<number>>, nlist: number): Promise<Point[]> {
  const points: Point[] = [];
  for (const nprobe of NPROBES.filter((n) => n <= nlist)) {
    const results = await Promise.all(indexes.map((index) => index.search(queries, K, { nprobe })));
    points.push({ nprobe, recall: mergedRecall(results, exact, K), distances: results.reduce((s, r) => s + r.counters.ndis, 0) / nq });
  }
  return points;
}

const distancesAt = (points: Point[], target: number) => valueAtRecall(points, target, 'distances');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      shards: { type: 'string', default: '8' },
      nlist: { type: 'string', default: '256' },
      queries: { type: 'string', default: '1000' },
    },
  });
  const shards = Number(values.shards);
  const nlist = Number(values.nlist);
  setFaissThreads(2);
  const scratch = benchScratch('sci-bench-sq-', values.keep === true);
  const dir = scratch.dir;
  try {
    const storage = new FsStorage('/');
    console.log(`bench/shared-quantizer: WordNet in ${shards} shards, baseline encoder 128-d, IVF${nlist},Flat ip, ${values.queries} dev queries …`);
    const passages = join(dir, 'passages');
    await ingestWordnet(passages, shards);
    const embeddings = join(dir, 'embeddings');
    await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: 128 } }, storage, { threads: 2 });
    const spec = { name: 'ivf', factory: `IVF${nlist},Flat`, metric: 'ip' as const, nprobe: 1 };
    const timed = async (output: string, extra: object) => {
      const started = performance.now();
      await runJobLocally({ kind: 'index', input: embeddings, output, indexes: [spec], ...extra }, storage, { threads: 2 });
      return (performance.now() - started) / 1000;
    };
    const ownSeconds = await timed(join(dir, 'own'), {});
    const sharedSeconds = await timed(join(dir, 'shared'), { sharedQuantizer: {} });
    const load = (set: string) =>
      Promise.all(Array.from({ length: shards }, (_, s) => FaissIndex.load(join(dir, set, `shard-${String(s).padStart(5, '0')}`, 'ivf.faiss'))));

    // Exact search and the queries.
    const exactIndex = FaissIndex.create({ dim: 128, factory: 'Flat', metric: 'ip' });
    for (const shard of (await readSetManifest(storage, embeddings, 'embeddings')).shards) {
      const v = readArrowVectors(join(embeddings, shard.path), 'embedding');
      await exactIndex.add(v.data, v.ids);
    }
    const encoder = new HashedTfidfEncoder(loadModel(join(embeddings, 'model', 'encoder.json'), join(embeddings, 'model', 'idf.f32')));
    const texts = devQueryTexts(passages, Number(values.queries));
    const queries = encoder.encode(texts);
    const nq = texts.length;
    const truth = await exactIndex.search(queries, K);
    const exact = Array.from({ length: nq }, (_, q) => new Set(Array.from(truth.labels.subarray(q * K, q * K + K), Number)));

    const own = await sweep(await load('own'), queries, nq, exact, nlist);
    const shared = await sweep(await load('shared'), queries, nq, exact, nlist);
    console.log('nprobe   per-shard R@10  dist/q   shared R@10  dist/q');
    own.forEach((o, i) => {
      const s = shared[i]!;
      console.log(
        `${String(o.nprobe).padStart(6)}   ${o.recall.toFixed(4).padStart(13)}  ${o.distances.toFixed(0).padStart(6)}   ${s.recall.toFixed(4).padStart(11)}  ${s.distances.toFixed(0).padStart(6)}`,
      );
    });
    const equalRecall = TARGETS.map((target) => {
      const o = distancesAt(own, target);
      const sh = distancesAt(shared, target);
      return { target, ownDistances: o, sharedDistances: sh, ratio: o && sh ? sh / o : null };
    });
    for (const e of equalRecall)
      console.log(
        `Recall@10 = ${e.target}: per-shard ${e.ownDistances?.toFixed(0) ?? '-'} dist/q, shared ${e.sharedDistances?.toFixed(0) ?? '-'} dist/q (interpolated between sweep points): ratio shared/per-shard ${e.ratio?.toFixed(2) ?? '-'}`,
      );
    console.log(
      `index job: per-shard training ${ownSeconds.toFixed(1)} s, shared quantizer ${sharedSeconds.toFixed(1)} s (ratio ${(sharedSeconds / ownSeconds).toFixed(2)})`,
    );
    console.log(JSON.stringify({ bench: 'shared-quantizer', shards, nlist, queries: nq, own, shared, equalRecall, ownSeconds, sharedSeconds }));
  } finally {
    scratch.done();
  }
}

await main();
