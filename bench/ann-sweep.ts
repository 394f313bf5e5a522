/*
 * bench/ann-sweep: every index type on siftsmall (10k × 128, exact ground
 * truth), recall@10 over a sweep of nprobe / efSearch, with the inner
 * counters per query: distances computed, touch rate (distances / corpus
 * size), HNSW hops, IVF lists scanned; and QPS, build time, memory.
 *
 *   node dist/bench/ann-sweep.js [--threads 2]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaissIndex, setFaissThreads, type SearchParams } from '../faiss/index.js';
import { readIvecs, readVectors } from '../vectors/index.js';
import { annRecallAtK } from '../eval/index.js';
import { SHARED_DATA } from './repo.js';

const TYPES: Array<[string, SearchParams[]]> = [
  ['Flat', [{}]],
  ['IVF64,Flat', [1, 2, 4, 8, 16, 32, 64].map((nprobe) => ({ nprobe }))],
  ['IVF64,PQ16', [1, 2, 4, 8, 16, 32, 64].map((nprobe) => ({ nprobe }))],
  ['HNSW32,Flat', [8, 16, 32, 64, 128, 256].map((efSearch) => ({ efSearch }))],
  ['PQ16', [{}]],
  ['PQ32', [{}]],
  ['LSH128', [{}]],
  ['LSH512', [{}]],
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { threads: { type: 'string', default: '2' } } });
  setFaissThreads(Number(values.threads));
  const dir = join(SHARED_DATA, 'siftsmall');
  const base = readVectors(join(dir, 'siftsmall_base.fvecs'));
  const queries = readVectors(join(dir, 'siftsmall_query.fvecs'));
  const gt = readIvecs(join(dir, 'siftsmall_groundtruth.ivecs'));
  console.log(`siftsmall: ${base.count} × ${base.dim}, ${queries.count} queries, l2, recall@10 against exact ground truth`);
  console.log('index          params            recall@10  dist/query  touch%   hops/q  lists/q    QPS   build s  MiB');
  const rows = [];
  for (const [factory, sweep] of TYPES) {
    const t0 = performance.now();
    const index = FaissIndex.create({ dim: base.dim, factory, metric: 'l2' });
    if (!index.info.isTrained) await index.train(base.data);
    await index.add(base.data);
    const build = (performance.now() - t0) / 1000;
    const mib = index.memoryBytes() / 2 ** 20;
    for (const params of sweep) {
      await index.search(queries.data, 10, params);
      const t = performance.now();
      const r = await index.search(queries.data, 10, params);
      const seconds = (performance.now() - t) / 1000;
      const row = {
        factory,
        params,
        recall: annRecallAtK(r.labels, gt.data, gt.dim, queries.count, 10),
        distancesPerQuery: r.counters.ndis / r.nq,
        touchRate: r.counters.ndis / r.nq / base.count,
        hopsPerQuery: r.counters.nhops / r.nq,
        listsPerQuery: r.counters.nlist / r.nq,
        qps: r.nq / seconds,
        buildSeconds: build,
        memoryMiB: mib,
      };
      rows.push(row);
      console.log(
        `${factory.padEnd(14)} ${JSON.stringify(params).padEnd(17)} ${row.recall.toFixed(3).padStart(9)}  ${row.distancesPerQuery.toFixed(0).padStart(10)}  ${(row.touchRate * 100).toFixed(1).padStart(6)}  ${row.hopsPerQuery.toFixed(0).padStart(6)}  ${row.listsPerQuery.toFixed(0).padStart(7)}  ${row.qps.toFixed(0).padStart(6)}  ${build.toFixed(2).padStart(7)}  ${mib.toFixed(1)}`,
      );
    }
  }
  console.log(JSON.stringify({ bench: 'ann-sweep', rows }));
}

await main();
