/*
 * bench/mine: hard negatives for every WordNet training query (38,959), top-200
 * against the whole corpus (8 shards, hashed baseline encoder 128-d, Flat and
 * BM25 per shard), with dense Flat and with BM25. In one run: in-process (one
 * pool thread), then the cluster with 1 and 2 worker processes (one thread
 * each). Prints queries/s, the cluster's overhead against in-process, the
 * 2-worker speed-up and the merge's share (its parts, one per shard, and the
 * concat that joins them). Encoding and indexing are set-up,
 * not timed; process start-up is not timed either.
 *
 *   node dist/bench/mine.js [--shards 8] [--k 200] [--keep]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import { ingestWordnet } from './wordnet.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import type { JobSpecInput, TaskRecord } from '../jobs/index.js';
import { startBenchCluster, taskSeconds } from './cluster-harness.js';

type Source = { kind: 'dense'; index: string } | { kind: 'bm25' };

interface Run {
  seconds: number;
  /** From the first merge part's start to the concat's end (null in-process, where tasks are not recorded). */
  mergeSeconds: number | null;
  mergeParts: number | null;
  concatSeconds: number | null;
}

/** The wall span of a set of tasks: first start to last finish. */
function spanSeconds(tasks: readonly TaskRecord[]): number | null {
  const starts = tasks.flatMap((t) => (t.startedAt ? [Date.parse(t.startedAt)] : []));
  const ends = tasks.flatMap((t) => (t.finishedAt ? [Date.parse(t.finishedAt)] : []));
  return starts.length > 0 && ends.length > 0 ? (Math.max(...ends) - Math.min(...starts)) / 1000 : null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { keep: { type: 'boolean', default: false }, shards: { type: 'string', default: '8' }, k: { type: 'string', default: '200' } },
  });
  const k = Number(values.k);
  const scratch = benchScratch('sci-bench-mine-', values.keep === true);
  const dir = scratch.dir;
  const storage = new FsStorage('/');
  try {
    const passages = join(dir, 'passages');
    const { manifest } = await ingestWordnet(passages, Number(values.shards));
    const queries = manifest.queries?.splits.train ?? 0;
    await runJobLocally({ kind: 'encode', input: passages, output: join(dir, 'emb'), encoder: { kind: 'hashed-tfidf', dim: 128 } }, storage, { threads: 2 });
    const indexes = join(dir, 'idx');
    await runJobLocally(
      { kind: 'index', input: join(dir, 'emb'), output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }], bm25: { passages } },
      storage,
      {
        threads: 2,
      },
    );
    console.error(`WordNet: ${manifest.rowsWritten} passages in ${manifest.shards.length} shards, ${queries} training queries, top-${k}`);
    const spec = (source: Source, output: string): JobSpecInput => ({ kind: 'mine', input: indexes, output, queries: { passages, split: 'train' }, source, k });
    const sources: Array<[string, Source]> = [
      ['dense Flat', { kind: 'dense', index: 'flat' }],
      ['BM25', { kind: 'bm25' }],
    ];
    const results: Record<string, { local: Run; one: Run; two: Run }> = {};
    for (const [name, source] of sources) {
      const started = performance.now();
      await runJobLocally(spec(source, join(dir, `local-${source.kind}`)), storage, { threads: 1 });
      const local: Run = { seconds: (performance.now() - started) / 1000, mergeSeconds: null, mergeParts: null, concatSeconds: null };
      console.error(`${name}, in-process: ${local.seconds.toFixed(1)} s`);
      const byWorkers: Run[] = [];
      for (const workers of [1, 2]) {
        const cluster = await startBenchCluster(join(dir, `c${workers}-${source.kind}`), workers);
        try {
          const t0 = performance.now();
          const { tasks } = await cluster.run(spec(source, join(dir, `c${workers}-${source.kind}`, 'out')));
          const seconds = (performance.now() - t0) / 1000;
          const merge = tasks.filter((t) => t.stage === 'merge');
          const concat = tasks.find((t) => t.stage === 'concat');
          byWorkers.push({
            seconds,
            mergeSeconds: spanSeconds([...merge, ...(concat ? [concat] : [])]),
            mergeParts: merge.length,
            concatSeconds: concat ? taskSeconds(concat) : null,
          });
          console.error(`${name}, cluster ${workers} worker(s): ${seconds.toFixed(1)} s`);
        } finally {
          await cluster.stop();
        }
      }
      results[name] = { local, one: byWorkers[0]!, two: byWorkers[1]! };
    }
    console.log(`mining ${queries} WordNet training queries, top-${k}, ${manifest.shards.length} shards (one thread per process)`);
    for (const [name, r] of Object.entries(results)) {
      const qps = (s: number) => `${Math.round(queries / s).toLocaleString('en-US')} q/s`;
      console.log(`${name}`);
      console.log(`  in-process            ${r.local.seconds.toFixed(2)} s  ${qps(r.local.seconds)}`);
      console.log(
        `  cluster, 1 worker     ${r.one.seconds.toFixed(2)} s  ${qps(r.one.seconds)}  overhead ${(((r.one.seconds - r.local.seconds) / r.local.seconds) * 100).toFixed(1)}%`,
      );
      console.log(
        `  cluster, 2 workers    ${r.two.seconds.toFixed(2)} s  ${qps(r.two.seconds)}  speed-up ${(r.one.seconds / r.two.seconds).toFixed(2)}× over 1 worker`,
      );
      console.log(
        `  merge (${r.two.mergeParts} parts + concat)  ${r.two.mergeSeconds?.toFixed(2) ?? '-'} s  ${r.two.mergeSeconds ? ((100 * r.two.mergeSeconds) / r.two.seconds).toFixed(1) : '-'}% of the 2-worker run; concat ${r.two.concatSeconds?.toFixed(2) ?? '-'} s`,
      );
    }
    console.log(JSON.stringify({ bench: 'mine', queries, k, shards: manifest.shards.length, results }));
  } finally {
    scratch.done();
  }
}

await main();
