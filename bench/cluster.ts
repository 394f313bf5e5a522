/*
 * bench/cluster: the same encode + index work (WordNet, 8 shards: baseline
 * encoder fit + encode at 256 dims, then HNSW32 and Flat per shard) run
 * in-process (one pool thread) and through the cluster with 1 and 2 worker
 * processes (one thread each), in one run. Prints the cluster's overhead
 * against in-process (goal ≤ 5%) and the 2-worker speed-up (goal ≥ 1.8×).
 * Process start-up is not timed: the cluster is up before each measurement.
 *
 *   node dist/bench/cluster.js [--shards 8] [--keep]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import { ingestWordnet } from './wordnet.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import type { JobSpecInput } from '../jobs/index.js';
import { startBenchCluster } from './cluster-harness.js';

const encodeSpec = (input: string, output: string): JobSpecInput => ({ kind: 'encode', input, output, encoder: { kind: 'hashed-tfidf', dim: 256 } });
const indexSpec = (input: string, output: string): JobSpecInput => ({
  kind: 'index',
  input,
  output,
  indexes: [
    { name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip' },
    { name: 'flat', factory: 'Flat', metric: 'ip' },
  ],
  bm25: null,
});

async function runInProcess(passages: string, dir: string): Promise<number> {
  const storage = new FsStorage('/');
  const started = performance.now();
  await runJobLocally(encodeSpec(passages, join(dir, 'emb')), storage, { threads: 1 });
  await runJobLocally(indexSpec(join(dir, 'emb'), join(dir, 'idx')), storage, { threads: 1 });
  return (performance.now() - started) / 1000;
}

async function runCluster(passages: string, dir: string, workers: number): Promise<number> {
  const cluster = await startBenchCluster(dir, workers);
  try {
    const started = performance.now();
    await cluster.run(encodeSpec(passages, join(dir, 'emb')));
    await cluster.run(indexSpec(join(dir, 'emb'), join(dir, 'idx')));
    return (performance.now() - started) / 1000;
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, shards: { type: 'string', default: '8' } } });
  const scratch = benchScratch('sci-bench-cluster-', values.keep === true);
  const dir = scratch.dir;
  try {
    const passages = join(dir, 'passages');
    const { manifest } = await ingestWordnet(passages, Number(values.shards));
    console.error(`WordNet: ${manifest.rowsWritten} passages in ${manifest.shards.length} shards`);
    const local = await runInProcess(passages, join(dir, 'local'));
    console.error(`in-process: ${local.toFixed(1)} s`);
    const one = await runCluster(passages, join(dir, 'c1'), 1);
    console.error(`cluster, 1 worker: ${one.toFixed(1)} s`);
    const two = await runCluster(passages, join(dir, 'c2'), 2);
    console.error(`cluster, 2 workers: ${two.toFixed(1)} s`);
    console.log('work: baseline encode (fit + encode, 256-d) + HNSW32 and Flat per shard');
    console.log(`in-process (1 thread)   ${local.toFixed(2)} s`);
    console.log(`cluster, 1 worker       ${one.toFixed(2)} s   overhead ${(((one - local) / local) * 100).toFixed(1)}% (goal ≤ 5%)`);
    console.log(`cluster, 2 workers      ${two.toFixed(2)} s   speed-up ${(one / two).toFixed(2)}× over 1 worker (goal ≥ 1.8×)`);
    console.log(
      JSON.stringify({
        bench: 'cluster',
        rows: manifest.rowsWritten,
        shards: manifest.shards.length,
        inProcessSeconds: local,
        oneWorkerSeconds: one,
        twoWorkerSeconds: two,
        overhead: (one - local) / local,
        speedup: one / two,
      }),
    );
  } finally {
    scratch.done();
  }
}

await main();
