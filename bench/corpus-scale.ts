/*
 * bench/corpus-scale: the whole path at corpus scale on this machine, per
 * stage: wall time, peak RSS of every process taking part, bytes on disk.
 * A psgs_w100-shaped corpus (sci generate passages: 100-word passages,
 * WordNet words at Zipf frequencies), ingested into Arrow shards, encoded
 * through the cluster (coordinator + workers, real nats-server; the baseline
 * encoder), indexed (IVF1024,PQ16 on a shared quantizer, BM25 per shard),
 * served by two shard-server processes, and a bounded evaluation: IVF-PQ's
 * Recall@10 against exact search of every vector, and p50 latencies, over
 * --queries passages' own texts as queries. Run at 1M and 4M rows, the
 * per-row cost of each stage shows how it grows with size.
 *
 *   node dist/bench/corpus-scale.js --rows 1000000 [--shards 16] [--workers 2] [--queries 200] [--dir DIR]
 *   node dist/bench/corpus-scale.js --rows 21000000 --shards 336 --dir /a/disk/with/80GiB   (DPR's size)
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { REPO } from './repo.js';
import { startBenchCluster } from './cluster-harness.js';
import { spawnShardServers } from './shard-servers.js';
import { FsStorage } from '../storage/index.js';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { readSetManifest, PassageLookup } from '../shards/index.js';
import { connectNats, NatsServerProcess } from '../messaging/index.js';
import { SearchService } from '../search/index.js';
import { percentile } from '../eval/index.js';
import { spawnSci } from '../cli/sci-process.js';

const K = 10;
const BYTES_PER_ROW = 3_400;

interface StageResult {
  stage: string;
  seconds: number;
  /** Peak RSS (MiB) per process role during the stage. */
  peakRssMiB: Record<string, number>;
  /** Bytes of the stage's output on disk. */
  bytes: number;
}

/** Samples VmRSS of the given processes every 200 ms; the peak per role. */
function rssSampler(roles: () => Record<string, number[]>): { stop: () => Record<string, number> } {
  const peaks: Record<string, number> = {};
  const sample = () => {
    for (const [role, pids] of Object.entries(roles())) {
      for (const pid of pids) {
        try {
          const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
          peaks[role] = Math.max(peaks[role] ?? 0, kb / 1024);
        } catch {
          // The process ended between samples.
        }
      }
    }
  };
  sample();
  const timer = setInterval(sample, 200);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

function duBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((n, name) => n + duBytes(join(path, name)), 0);
}

/** Runs `sci args…` to its end, its RSS sampled; rejects on a non-zero exit. */
function runSci(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<void> } {
  const child = spawnSci(args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const done = new Promise<void>((ok, fail) => child.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`sci ${args[0]} exited with ${code}`)))));
  return { child, done };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      shards: { type: 'string', default: '16' },
      workers: { type: 'string', default: '2' },
      queries: { type: 'string', default: '200' },
      dir: { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const dir = resolve(values.dir ?? join(REPO, 'out', `corpus-${rows}`));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Measured at 1M and 4M: ~3.3 KB a passage over every stage's output (the TSV, Arrow passages, embeddings, indexes).
  const { bavail, bsize } = statfsSync(dir);
  const needed = rows * BYTES_PER_ROW;
  if (bavail * bsize < needed)
    throw new Error(
      `${rows} passages need about ${(needed / 2 ** 30).toFixed(0)} GiB in ${dir}; it has ${((bavail * bsize) / 2 ** 30).toFixed(0)} GiB free (give --dir on a bigger disk)`,
    );
  const env = { ...process.env, SCI_LOG__LEVEL: 'warn', SCI_LOG__PRETTY: 'false', SCI_STORAGE__ROOT: '/' };
  const stages: StageResult[] = [];
  const timed = async (stage: string, output: string, roles: () => Record<string, number[]>, work: () => Promise<void>) => {
    const sampler = rssSampler(roles);
    const started = performance.now();
    await work();
    const result = { stage, seconds: (performance.now() - started) / 1000, peakRssMiB: sampler.stop(), bytes: duBytes(output) };
    stages.push(result);
    console.log(
      `${stage.padEnd(9)} ${result.seconds.toFixed(1).padStart(8)} s  ${(result.bytes / 2 ** 20).toFixed(0).padStart(7)} MiB on disk  peak RSS ${Object.entries(
        result.peakRssMiB,
      )
        .map(([r, m]) => `${r} ${m.toFixed(0)} MiB`)
        .join(', ')}`,
    );
  };
  console.log(`bench/corpus-scale: ${rows} passages, ${values.shards} shards, ${values.workers} workers, in ${dir}`);
  const tsv = join(dir, 'psgs.tsv');
  let one = runSci(['generate', 'passages', '--rows', String(rows), '--out', tsv], env);
  await timed(
    'generate',
    tsv,
    () => ({ generator: [one.child.pid!] }),
    () => one.done,
  );
  const passages = join(dir, 'passages');
  one = runSci(['ingest', '--format', 'tsv', '--input', tsv, '--out', passages, '--shards', values.shards], env);
  await timed(
    'ingest',
    passages,
    () => ({ ingest: [one.child.pid!] }),
    () => one.done,
  );

  const cluster = await startBenchCluster(dir, Number(values.workers));
  const clusterRoles = () => ({ coordinator: [cluster.pids.coordinator], worker: cluster.pids.workers });
  const embeddings = join(dir, 'embeddings');
  const indexes = join(dir, 'indexes');
  try {
    await timed('encode', embeddings, clusterRoles, async () => {
      await cluster.run({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: 128 } });
    });
    await timed('index', indexes, clusterRoles, async () => {
      await cluster.run({
        kind: 'index',
        input: embeddings,
        output: indexes,
        indexes: [{ name: 'ivfpq', factory: 'IVF1024,PQ16', metric: 'ip', nprobe: 16 }],
        sharedQuantizer: {},
        bm25: { passages },
      });
    });
  } finally {
    await cluster.stop();
  }

  // Serving: two shard-server processes, half the shards each, on a fresh nats-server.
  const nats = await NatsServerProcess.start();
  const serveEnv = { ...env, SCI_NATS__SERVERS: JSON.stringify([nats.url]) };
  const shardIds = Array.from({ length: Number(values.shards) }, (_, i) => i);
  const servers: ChildProcess[] = [];
  await timed(
    'serve',
    indexes,
    () => ({ 'shard-server': servers.map((s) => s.pid!) }),
    async () => {
      const started = spawnShardServers(
        serveEnv,
        indexes,
        [0, 1].map((half) => shardIds.filter((s) => s % 2 === half).join(',')),
      );
      servers.push(...started.children);
      await started.ready;
    },
  );
  const nc = await connectNats({ servers: [nats.url], name: 'bench-corpus' });
  const storage = new FsStorage('/');
  const service = await SearchService.open({ nc, storage, indexSet: indexes, logger: pino({ level: 'silent' }), deadlineMs: 60_000 });
  let evaluation: Record<string, number> = {};
  try {
    await timed(
      'eval',
      indexes,
      () => ({ 'shard-server': servers.map((s) => s.pid!), bench: [process.pid] }),
      async () => {
        // Queries: the first words of passages spread over the corpus; exact search over every vector is the reference.
        const manifest = await readSetManifest(storage, passages, 'passages');
        const nq = Number(values.queries);
        const texts: string[] = [];
        const sources: number[] = [];
        for (let q = 0; q < nq; q++) {
          const shard = manifest.shards[q % manifest.shards.length]!;
          const lookup = PassageLookup.open(join(passages, shard.path), shard.firstRowId);
          const row = shard.firstRowId + ((q * 7919) % shard.rows);
          texts.push((lookup.read([row], ['text'])[0]!.text ?? '').split(' ').slice(0, 12).join(' '));
          sources.push(row);
          lookup.close();
        }
        const vectors = await service.encode(texts, 'query');
        setFaissThreads(2);
        const exact = FaissIndex.create({ dim: 128, factory: 'Flat', metric: 'ip' });
        for (const shard of (await readSetManifest(storage, embeddings, 'embeddings')).shards) {
          const v = readArrowVectors(join(embeddings, shard.path), 'embedding');
          await exact.add(v.data, v.ids);
        }
        const truth = await exact.search(vectors, K);
        // A generated corpus has no judgments: a query's relevant passage is the one it was cut from.
        let found = 0;
        const success = { exact: 0, ivfpq: 0, bm25: 0 };
        const dense: number[] = [];
        const lexical: number[] = [];
        for (let q = 0; q < nq; q++) {
          let t0 = performance.now();
          const r = await service.search({ index: 'ivfpq', vectors: vectors.subarray(q * 128, (q + 1) * 128), k: K });
          dense.push(performance.now() - t0);
          const want = new Set(Array.from(truth.labels.subarray(q * K, (q + 1) * K), Number));
          found += r.hits[0]!.filter((h) => want.has(h.rowId)).length;
          t0 = performance.now();
          const lexicalHits = (await service.search({ index: 'bm25', queries: [texts[q]!], k: K })).hits[0]!;
          lexical.push(performance.now() - t0);
          if (want.has(sources[q]!)) success.exact += 1;
          if (r.hits[0]!.some((h) => h.rowId === sources[q])) success.ivfpq += 1;
          if (lexicalHits.some((h) => h.rowId === sources[q])) success.bm25 += 1;
        }
        dense.sort((a, b) => a - b);
        lexical.sort((a, b) => a - b);
        evaluation = {
          queries: nq,
          ivfpqRecallAt10: found / (nq * K),
          sourceSuccessAt10Exact: success.exact / nq,
          sourceSuccessAt10Ivfpq: success.ivfpq / nq,
          sourceSuccessAt10Bm25: success.bm25 / nq,
          ivfpqP50Ms: percentile(dense, 50),
          bm25P50Ms: percentile(lexical, 50),
        };
        console.log(
          `eval: ${nq} queries (a passage's first 12 words); its passage in the top 10: exact ${success.exact}, IVF1024,PQ16 (nprobe 16) ${success.ivfpq}, BM25 ${success.bm25}; IVF-PQ Recall@10 against exact ${evaluation.ivfpqRecallAt10!.toFixed(3)}; p50 IVF-PQ ${evaluation.ivfpqP50Ms!.toFixed(2)} ms, BM25 ${evaluation.bm25P50Ms!.toFixed(2)} ms`,
        );
      },
    );
  } finally {
    service.close();
    await nc.close();
    for (const s of servers) s.kill('SIGTERM');
    await nats.stop({ clean: true });
  }
  console.log(JSON.stringify({ bench: 'corpus-scale', rows, shards: Number(values.shards), workers: Number(values.workers), stages, evaluation }));
}

await main();
