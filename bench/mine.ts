/*
 * bench/mine: hard negatives for every WordNet training query (38,959), top-200
 * against the whole corpus (8 shards, hashed baseline encoder 128-d, Flat and
 * BM25 per shard), with dense Flat and with BM25. In one run: in-process (one
 * pool thread) and the cluster with 1 worker, both pinned to one core
 * (taskset), then the cluster with 1 and with 2 worker processes (one pool
 * thread each) on every core. Prints queries/s, the cluster's overhead
 * against in-process, the 2-worker speed-up over 1 worker on one core (the
 * scale-out: a core per worker) and over 1 worker on every core (on a 2-core
 * machine that one worker already keeps more than one core busy with garbage
 * collection and publishing, which caps what a second can add), the cores
 * the workers kept busy, and the merge's share (its parts, one per shard, and
 * the concat that joins them). --source dense or bm25 runs one. Encoding and indexing are set-up,
 * not timed; process start-up is not timed either.
 *
 * The machine's own ceiling for 2 workers: two copies of the in-process job at
 * once, one per core, in two processes. Two cores of a VM need not give two
 * cores' work (shared caches, memory bandwidth, host siblings, a busier core);
 * the ceiling is the two copies' rates added, each against the job alone
 * (workers pull tasks as they finish, so a slower core takes fewer): two copies
 * that each take 1.3× as long allow 2 / 1.3 ≈ 1.54×. The 2-worker cluster's
 * rate is printed against it as a multiple of the in-process job's, the rate
 * the ceiling is measured in (the 1-worker cluster on one core also carries
 * NATS and the coordinator on that core). (A copy that finishes first leaves the other alone for its last
 * stretch, so the slower copy's rate is read a little high.)
 *
 *   node dist/bench/mine.js [--shards 8] [--k 200] [--source dense,bm25] [--keep]
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { benchScratch } from './scratch.js';
import { processCpuSeconds } from './proc.js';
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
  /** CPU seconds the mining processes used (in-process: this process; cluster: the workers), and over the wall time: cores used. */
  cpuSeconds: number;
}

/** Pins processes, every thread they have (and so every thread they start), to a CPU list (`taskset -a`). */
function pin(pids: readonly number[], cpus: string): void {
  for (const pid of pids) execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** The wall span of a set of tasks: first start to last finish. */
function spanSeconds(tasks: readonly TaskRecord[]): number | null {
  const starts = tasks.flatMap((t) => (t.startedAt ? [Date.parse(t.startedAt)] : []));
  const ends = tasks.flatMap((t) => (t.finishedAt ? [Date.parse(t.finishedAt)] : []));
  return starts.length > 0 && ends.length > 0 ? (Math.max(...ends) - Math.min(...starts)) / 1000 : null;
}

/** Child mode (`--local-job FILE`): runs the job in FILE in this process on one pool thread and prints its wall seconds. */
async function runLocalJob(file: string): Promise<void> {
  const started = performance.now();
  await runJobLocally(JSON.parse(readFileSync(file, 'utf8')) as JobSpecInput, new FsStorage('/'), { threads: 1 });
  console.log(((performance.now() - started) / 1000).toFixed(3));
}

/** Two copies of an in-process job at once, each process pinned to its own core: their wall seconds (process start-up included). */
async function twoCopiesAtOnce(jobs: readonly [JobSpecInput, JobSpecInput], dir: string): Promise<number[]> {
  const script = new URL(import.meta.url).pathname;
  return Promise.all(
    jobs.map(async (job, core) => {
      const file = join(dir, `copy-${core}.json`);
      writeFileSync(file, JSON.stringify(job));
      const { stdout } = await promisify(execFile)('taskset', ['-a', '-c', String(core), process.execPath, script, '--local-job', file]);
      return Number(stdout.trim().split('\n').at(-1));
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'local-job': { type: 'string' },
      keep: { type: 'boolean', default: false },
      shards: { type: 'string', default: '8' },
      k: { type: 'string', default: '200' },
      source: { type: 'string', default: 'dense,bm25' },
    },
  });
  if (values['local-job']) return runLocalJob(values['local-job']);
  const wanted = new Set(values.source.split(','));
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
    const sources = (
      [
        ['dense Flat', { kind: 'dense', index: 'flat' }],
        ['BM25', { kind: 'bm25' }],
      ] satisfies Array<[string, Source]>
    ).filter(([, source]) => wanted.has(source.kind));
    const results: Record<string, { local: Run; oneCore: Run; one: Run; two: Run; copiesSeconds: number[] }> = {};
    const allCores = `0-${availableParallelism() - 1}`;
    for (const [name, source] of sources) {
      // In-process, on one core (the same as the 1-worker cluster on one core).
      pin([process.pid], '0');
      const started = performance.now();
      const cpu = process.cpuUsage();
      await runJobLocally(spec(source, join(dir, `local-${source.kind}`)), storage, { threads: 1 });
      const used = process.cpuUsage(cpu);
      pin([process.pid], allCores);
      const local: Run = {
        seconds: (performance.now() - started) / 1000,
        mergeSeconds: null,
        mergeParts: null,
        concatSeconds: null,
        cpuSeconds: (used.user + used.system) / 1e6,
      };
      console.error(`${name}, in-process on one core: ${local.seconds.toFixed(1)} s`);
      const copiesSeconds = await twoCopiesAtOnce([spec(source, join(dir, `copy0-${source.kind}`)), spec(source, join(dir, `copy1-${source.kind}`))], dir);
      console.error(`${name}, two in-process copies at once, one per core: ${copiesSeconds.map((c) => c.toFixed(1)).join(' s, ')} s`);
      const runs: Run[] = [];
      for (const [label, workers, cores] of [
        ['1 worker, one core', 1, '0'],
        ['1 worker', 1, null],
        ['2 workers', 2, null],
      ] as const) {
        const clusterDir = join(dir, `c${runs.length}-${source.kind}`);
        const cluster = await startBenchCluster(clusterDir, workers);
        try {
          // One core: every process of the cluster (and every thread it has or starts) on CPU 0.
          if (cores !== null) pin([cluster.pids.nats, cluster.pids.coordinator, ...cluster.pids.workers], cores);
          const cpuBefore = cluster.pids.workers.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
          const t0 = performance.now();
          const { tasks } = await cluster.run(spec(source, join(clusterDir, 'out')));
          const seconds = (performance.now() - t0) / 1000;
          const cpuSeconds = cluster.pids.workers.reduce((sum, pid) => sum + processCpuSeconds(pid), 0) - cpuBefore;
          const merge = tasks.filter((t) => t.stage === 'merge');
          const concat = tasks.find((t) => t.stage === 'concat');
          runs.push({
            seconds,
            mergeSeconds: spanSeconds([...merge, ...(concat ? [concat] : [])]),
            mergeParts: merge.length,
            concatSeconds: concat ? taskSeconds(concat) : null,
            cpuSeconds,
          });
          // Where the time went: each stage's span (first start to last finish) and its tasks' summed time.
          const stages = [...new Set(tasks.map((t) => t.stage))].map((stage) => {
            const own = tasks.filter((t) => t.stage === stage);
            return `${stage} ${spanSeconds(own)?.toFixed(1) ?? '-'} s (${own.length} tasks, ${own.reduce((sum, t) => sum + taskSeconds(t), 0).toFixed(1)} task-s)`;
          });
          console.error(`${name}, cluster, ${label}: ${seconds.toFixed(1)} s, workers ${(cpuSeconds / seconds).toFixed(2)} cores; ${stages.join(', ')}`);
        } finally {
          await cluster.stop();
        }
      }
      results[name] = { local, oneCore: runs[0]!, one: runs[1]!, two: runs[2]!, copiesSeconds };
    }
    console.log(
      `mining ${queries} WordNet training queries, top-${k}, ${manifest.shards.length} shards (one pool thread per process), ${availableParallelism()} cores`,
    );
    for (const [name, r] of Object.entries(results)) {
      const qps = (s: number) => `${Math.round(queries / s).toLocaleString('en-US')} q/s`;
      const cores = (run: Run) => `${(run.cpuSeconds / run.seconds).toFixed(2)} cores busy`;
      const line = (label: string, run: Run, note: string) =>
        console.log(`  ${label.padEnd(30)} ${run.seconds.toFixed(2).padStart(7)} s  ${qps(run.seconds).padStart(9)}  ${cores(run)}  ${note}`);
      console.log(`${name}`);
      line('in-process, one core', r.local, '');
      const ceiling = r.copiesSeconds.reduce((sum, copy) => sum + r.local.seconds / copy, 0);
      console.log(
        `  ${'2 in-process copies at once'.padEnd(30)} ${r.copiesSeconds.map((c) => `${c.toFixed(2)} s`).join(' and ')}, one per core: this machine's ceiling for 2 workers ${ceiling.toFixed(2)}×`,
      );
      line('cluster, 1 worker, one core', r.oneCore, `overhead ${(((r.oneCore.seconds - r.local.seconds) / r.local.seconds) * 100).toFixed(1)}%`);
      line('cluster, 1 worker', r.one, `(its pool thread, GC and publishing spread over ${availableParallelism()} cores)`);
      line(
        'cluster, 2 workers',
        r.two,
        `speed-up ${(r.oneCore.seconds / r.two.seconds).toFixed(2)}× over 1 worker on one core, ${(r.one.seconds / r.two.seconds).toFixed(2)}× over 1 worker on ${availableParallelism()}; ${(r.local.seconds / r.two.seconds).toFixed(2)}× the in-process rate, ${((100 * r.local.seconds) / r.two.seconds / ceiling).toFixed(0)}% of the ceiling`,
      );
      console.log(
        `  merge (${r.two.mergeParts} parts + concat)       ${r.two.mergeSeconds?.toFixed(2) ?? '-'} s  ${r.two.mergeSeconds ? ((100 * r.two.mergeSeconds) / r.two.seconds).toFixed(1) : '-'}% of the 2-worker run; concat ${r.two.concatSeconds?.toFixed(2) ?? '-'} s`,
      );
    }
    console.log(JSON.stringify({ bench: 'mine', queries, k, shards: manifest.shards.length, results }));
  } finally {
    scratch.done();
  }
}

await main();
