/*
 * bench/faiss: our addon against Debian's python3-faiss on the same index
 * (the file our addon wrote), data, queries, parameters and thread count,
 * in one run. Prints per index type: QPS of both (best of --repeat), the
 * ratio, whether the results are identical, and recall@10.
 *
 * Data: ../shared/data/siftsmall (10k × 128, exact ground truth) and N
 * generated 128-d vectors (default 1M; clustered, so ANN indexes behave as
 * on real embeddings; ground truth from the Flat index).
 *
 *   node dist/bench/faiss.js [--size 1000000] [--queries 1000] [--threads 2] [--repeat 5] [--hnsw-size 200000] [--keep]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import { FaissIndex, setFaissThreads, type Metric, type SearchParams } from '../faiss/index.js';
import { readIvecs, readVectors, writeNpy } from '../vectors/index.js';
import { annRecallAtK } from '../eval/index.js';
import { pythonFaissAvailable, pythonFaissSearch } from './python-faiss.js';
import { SHARED_DATA } from './repo.js';

interface Case {
  factory: string;
  params: SearchParams;
  metric: Metric;
  /** Use only the first n base vectors (HNSW build cost). */
  limit?: number;
}

interface Row {
  data: string;
  factory: string;
  params: string;
  n: number;
  oursQps: number;
  pythonQps: number;
  ratio: number;
  identical: boolean;
  recall: number | null;
  buildSeconds: number;
}

function clustered(n: number, dim: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const centres = 1000;
  const c = Float32Array.from({ length: centres * dim }, () => rand() * 2 - 1);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * centres);
    for (let j = 0; j < dim; j++) out[i * dim + j] = c[k * dim + j]! + (rand() - 0.5) * 0.6;
  }
  return out;
}

async function runCase(
  label: string,
  dir: string,
  base: Float32Array,
  dim: number,
  queries: Float32Array,
  queriesNpy: string,
  gt: { data: Int32Array; dim: number; count: number } | null,
  c: Case,
  threads: number,
  repeat: number,
): Promise<Row> {
  const n = Math.min(c.limit ?? Infinity, base.length / dim);
  const vectors = base.subarray(0, n * dim);
  const t0 = performance.now();
  const index = FaissIndex.create({ dim, factory: c.factory, metric: c.metric });
  if (!index.info.isTrained) await index.train(vectors.subarray(0, Math.min(n, 100_000) * dim));
  await index.add(vectors);
  const buildSeconds = (performance.now() - t0) / 1000;
  const path = join(dir, 'bench.index');
  await index.save(path);
  const nq = queries.length / dim;
  let best = Infinity;
  let ours = await index.search(queries, 10, c.params);
  for (let r = 0; r < repeat; r++) {
    const t = performance.now();
    ours = await index.search(queries, 10, c.params);
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  const python = pythonFaissSearch(path, queriesNpy, 10, c.params as Record<string, number>, threads, repeat, join(dir, 'out.npz'));
  const identical = ours.labels.length === python.labels.length && ours.labels.every((v, i) => v === python.labels[i]);
  const recall = gt && n === base.length / dim ? annRecallAtK(ours.labels, gt.data, gt.dim, gt.count, 10) : null;
  return {
    data: label,
    factory: c.factory,
    params: JSON.stringify(c.params),
    n,
    oursQps: nq / best,
    pythonQps: nq / python.seconds,
    ratio: python.seconds / best,
    identical,
    recall,
    buildSeconds,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      size: { type: 'string', default: '1000000' },
      queries: { type: 'string', default: '1000' },
      threads: { type: 'string', default: '2' },
      repeat: { type: 'string', default: '5' },
      'hnsw-size': { type: 'string', default: '200000' },
    },
  });
  if (!pythonFaissAvailable()) throw new Error('python3-faiss is not installed: run scripts/ensure-system.sh (or make bench)');
  const threads = Number(values.threads);
  const repeat = Number(values.repeat);
  setFaissThreads(threads);
  const scratch = benchScratch('sci-bench-faiss-', values.keep === true);
  const dir = scratch.dir;
  const rows: Row[] = [];
  try {
    const sift = join(SHARED_DATA, 'siftsmall');
    try {
      const base = readVectors(join(sift, 'siftsmall_base.fvecs'));
      const q = readVectors(join(sift, 'siftsmall_query.fvecs'));
      const gt = readIvecs(join(sift, 'siftsmall_groundtruth.ivecs'));
      // 100 queries are too few to time; tile them to 1000 (recall is read on the first 100).
      const tiled = new Float32Array(q.data.length * 10);
      for (let i = 0; i < 10; i++) tiled.set(q.data, i * q.data.length);
      const qNpy = join(dir, 'sift-q.npy');
      writeNpy(qNpy, tiled, q.dim);
      const cases: Case[] = [
        { factory: 'Flat', params: {}, metric: 'l2' },
        { factory: 'IVF64,Flat', params: { nprobe: 8 }, metric: 'l2' },
        { factory: 'IVF64,PQ16', params: { nprobe: 8 }, metric: 'l2' },
        { factory: 'HNSW32,Flat', params: { efSearch: 64 }, metric: 'l2' },
        { factory: 'PQ16', params: {}, metric: 'l2' },
        { factory: 'LSH256', params: {}, metric: 'l2' },
      ];
      for (const c of cases) rows.push(await runCase('siftsmall', dir, base.data, base.dim, tiled, qNpy, { ...gt, count: q.count }, c, threads, repeat));
    } catch (err) {
      console.error(`siftsmall skipped: ${(err as Error).message}`);
    }

    const size = Number(values.size);
    const dim = 128;
    const nq = Number(values.queries);
    console.error(`generating ${size} × ${dim} vectors …`);
    const base = clustered(size, dim, 7);
    const queries = clustered(nq, dim, 99);
    const qNpy = join(dir, 'gen-q.npy');
    writeNpy(qNpy, queries, dim);
    const nlist = Math.max(16, Math.round(Math.sqrt(size)));
    const cases: Case[] = [
      { factory: 'Flat', params: {}, metric: 'ip' },
      { factory: `IVF${nlist},Flat`, params: { nprobe: 16 }, metric: 'ip' },
      { factory: `IVF${nlist},PQ16`, params: { nprobe: 16 }, metric: 'l2' },
      { factory: 'HNSW32,Flat', params: { efSearch: 64 }, metric: 'l2', limit: Number(values['hnsw-size']) },
      { factory: 'PQ16', params: {}, metric: 'l2' },
      { factory: 'LSH256', params: {}, metric: 'l2' },
    ];
    for (const c of cases) {
      console.error(`${c.factory} on ${Math.min(c.limit ?? size, size)} vectors …`);
      rows.push(await runCase(`generated-${size}`, dir, base, dim, queries, qNpy, null, c, threads, repeat));
    }
  } finally {
    scratch.done();
  }
  console.log(`threads ${threads}, best of ${repeat}; ratio = our QPS / python faiss QPS on the same index file`);
  console.log('data               index          params           n        build s   ours QPS   python QPS  ratio  identical  recall@10');
  for (const r of rows) {
    console.log(
      `${r.data.padEnd(18)} ${r.factory.padEnd(14)} ${r.params.padEnd(16)} ${String(r.n).padEnd(8)} ${r.buildSeconds.toFixed(1).padStart(7)}  ${r.oursQps.toFixed(0).padStart(9)}  ${r.pythonQps.toFixed(0).padStart(11)}  ${r.ratio.toFixed(3)}  ${String(r.identical).padEnd(9)}  ${r.recall === null ? '-' : r.recall.toFixed(3)}`,
    );
  }
  const geomean = Math.exp(rows.reduce((s, r) => s + Math.log(r.ratio), 0) / rows.length);
  console.log(`geometric mean ratio ${geomean.toFixed(3)}; all identical: ${rows.every((r) => r.identical)}`);
  console.log(JSON.stringify({ bench: 'faiss', threads, repeat, rows, geomeanRatio: geomean }));
}

await main();
