/*
 * bench/corpus-scale: the whole path at corpus scale on this machine, per
 * stage: wall time, peak RSS of every process taking part, bytes on disk.
 * A psgs_w100-shaped corpus (sci generate passages: 100-word passages,
 * WordNet words at Zipf frequencies) streamed into `sci ingest --input -`
 * (no TSV on disk) as Arrow shards, encoded through the cluster (coordinator
 * + workers, real nats-server; the baseline encoder; float16 embeddings by
 * default), indexed (IVF1024,PQ16 on a shared quantizer, BM25 per shard; the
 * quantizer's sample swept after), served by two shard-server processes, and
 * a bounded evaluation: IVF-PQ's Recall@10 against exact search of every
 * vector (one embedding shard at a time, merged), and p50 latencies, over --queries passages' own texts as queries.
 * Run at 1M and 4M rows, the per-row cost of each stage shows how it grows
 * with size; the end says how many bytes a passage took on disk.
 *
 * A run survives its own restart (corpus-scale-state.ts): run the same
 * command again and finished stages are skipped, a job submitted before is
 * followed by its id, time and memory add up over attempts. --fresh starts
 * over; the run's folder is deleted at the end unless --keep.
 *
 *   node dist/bench/corpus-scale.js --rows 1000000 [--shards 16] [--workers 2] [--queries 200] [--dtype f16|f32] [--dir DIR] [--keep] [--fresh]
 *   node dist/bench/corpus-scale.js --rows 21000000 --shards 336 --dir /a/disk/with/60GiB   (DPR's size)
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, statfsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { REPO } from './repo.js';
import { startBenchCluster } from './cluster-harness.js';
import { loadRunState, saveRunState, stopLeftovers, type CorpusScaleParams, type StageResult } from './corpus-scale-state.js';
import { spawnShardServers } from './shard-servers.js';
import { FsStorage, findLeftovers, removeLeftovers } from '../storage/index.js';
import type { JobSpecInput } from '../jobs/index.js';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { INDEX_SET_FORMAT, readSetManifest, PassageLookup } from '../shards/index.js';
import { connectNats, NatsServerProcess } from '../messaging/index.js';
import { mergeTopK, SearchService, type Hit } from '../search/index.js';
import { percentile } from '../eval/index.js';
import { spawnSci } from '../cli/sci-process.js';

const K = 10;
/** Bytes on disk a passage needs over the run (Arrow passages, float16 embeddings, indexes), with room to spare. */
const BYTES_PER_ROW = 2_200;

/** Samples VmRSS of the given processes every 200 ms; the peak per role, from `start` on. */
function rssSampler(
  roles: () => Record<string, number[]>,
  start: Record<string, number> = {},
): { peaks: Record<string, number>; stop: () => Record<string, number> } {
  const peaks: Record<string, number> = { ...start };
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
    peaks,
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

/** A child's exit as a promise; rejects on a non-zero exit, naming what it was. */
function exited(child: ChildProcess, what: string): Promise<void> {
  return new Promise<void>((ok, fail) => child.once('exit', (code, signal) => (code === 0 ? ok() : fail(new Error(`${what} exited with ${code ?? signal}`)))));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      shards: { type: 'string', default: '16' },
      workers: { type: 'string', default: '2' },
      queries: { type: 'string', default: '200' },
      dtype: { type: 'string', default: 'f16' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
    },
  });
  if (values.dtype !== 'f16' && values.dtype !== 'f32') throw new Error(`--dtype is f16 or f32, not ${values.dtype}`);
  const params: CorpusScaleParams = {
    rows: Number(values.rows),
    shards: Number(values.shards),
    workers: Number(values.workers),
    dtype: values.dtype,
    queries: Number(values.queries),
  };
  const rows = params.rows;
  const dir = resolve(values.dir ?? join(REPO, 'out', `corpus-${rows}`));
  if (values.fresh) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { state, resumed } = loadRunState(dir, params);
  const save = () => saveRunState(dir, state);
  if (resumed) {
    const stopped = stopLeftovers(state.pids);
    console.log(
      `bench/corpus-scale: continuing the run in ${dir} (done: ${state.done.map((d) => d.stage).join(', ') || 'nothing'}${state.running ? `; ${state.running.stage} was running` : ''}${stopped.length > 0 ? `; stopped ${stopped.length} processes the earlier run left` : ''})`,
    );
    state.pids = [];
  } else {
    const { bavail, bsize } = statfsSync(dir);
    const needed = rows * BYTES_PER_ROW;
    if (bavail * bsize < needed)
      throw new Error(
        `${rows} passages need about ${(needed / 2 ** 30).toFixed(0)} GiB in ${dir}; it has ${((bavail * bsize) / 2 ** 30).toFixed(0)} GiB free (give --dir on a bigger disk)`,
      );
  }
  save();
  const track = (...pids: Array<number | undefined | null>) => {
    for (const pid of pids) if (pid) state.pids.push(pid);
    save();
  };
  const env = { ...process.env, SCI_LOG__LEVEL: 'warn', SCI_LOG__PRETTY: 'false', SCI_STORAGE__ROOT: '/' };
  const print = (r: StageResult, note = '') =>
    console.log(
      `${r.stage.padEnd(9)} ${r.seconds.toFixed(1).padStart(8)} s  ${(r.bytes / 2 ** 20).toFixed(0).padStart(7)} MiB on disk  peak RSS ${Object.entries(
        r.peakRssMiB,
      )
        .map(([role, m]) => `${role} ${m.toFixed(0)} MiB`)
        .join(', ')}${r.attempts > 1 ? `  (${r.attempts} attempts)` : ''}${note}`,
    );
  /** Runs a stage unless an earlier run finished it; its time and memory are saved every 5 s, so a restart adds on. */
  const timed = async (
    stage: string,
    output: string,
    roles: () => Record<string, number[]>,
    work: () => Promise<void>,
    options: { resumable?: boolean } = {},
  ) => {
    const finished = state.done.find((d) => d.stage === stage);
    if (finished && options.resumable !== false) {
      print(finished, '  (finished by an earlier run)');
      return;
    }
    const earlier = state.running?.stage === stage ? state.running : null;
    const attempts = (earlier?.attempts ?? 0) + 1;
    const sampler = rssSampler(roles, earlier?.peakRssMiB ?? {});
    const started = performance.now();
    const elapsed = () => (earlier?.seconds ?? 0) + (performance.now() - started) / 1000;
    state.running = { stage, seconds: elapsed(), attempts, peakRssMiB: sampler.peaks };
    save();
    const heartbeat = setInterval(() => {
      state.running = { stage, seconds: elapsed(), attempts, peakRssMiB: sampler.peaks };
      save();
    }, 5_000);
    try {
      await work();
    } finally {
      clearInterval(heartbeat);
    }
    const result: StageResult = { stage, seconds: elapsed(), attempts, peakRssMiB: sampler.stop(), bytes: duBytes(output) };
    state.done = [...state.done.filter((d) => d.stage !== stage), result];
    state.running = null;
    save();
    print(result);
  };
  console.log(`bench/corpus-scale: ${rows} passages, ${params.shards} shards, ${params.workers} workers, ${params.dtype} embeddings, in ${dir}`);

  // Generated and ingested in one stream: the TSV never reaches the disk.
  const passages = join(dir, 'passages');
  const streaming: ChildProcess[] = [];
  await timed(
    'ingest',
    passages,
    () => ({ generator: streaming[0]?.pid ? [streaming[0].pid] : [], ingest: streaming[1]?.pid ? [streaming[1].pid] : [] }),
    async () => {
      rmSync(passages, { recursive: true, force: true });
      const generator = spawnSci(['generate', 'passages', '--rows', String(rows), '--out', '-'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      // Rows per shard rather than a shard count: shards are cut as the stream goes, with no spool file of the whole corpus.
      const rowsPerShard = String(Math.ceil(rows / params.shards));
      const ingest = spawnSci(['ingest', '--format', 'tsv', '--input', '-', '--out', passages, '--rows-per-shard', rowsPerShard], {
        env,
        stdio: ['pipe', 'ignore', 'inherit'],
      });
      streaming.push(generator, ingest);
      track(generator.pid, ingest.pid);
      generator.stdout!.pipe(ingest.stdin!);
      await Promise.all([exited(generator, 'sci generate passages'), exited(ingest, 'sci ingest')]);
    },
  );

  const embeddings = join(dir, 'embeddings');
  const indexes = join(dir, 'indexes');
  const building = ['encode', 'index'].some((s) => !state.done.some((d) => d.stage === s));
  if (building) {
    const cluster = await startBenchCluster(dir, params.workers, { keepStore: true });
    track(cluster.pids.coordinator, ...cluster.pids.workers, cluster.pids.nats);
    const clusterRoles = () => ({ coordinator: [cluster.pids.coordinator], worker: cluster.pids.workers });
    /** A stage's job: the one an earlier run submitted (the coordinator resumes it), else a new one. */
    const job = async (stage: string, spec: JobSpecInput) => {
      let id = state.jobs[stage];
      if (id === undefined) {
        id = await cluster.submit(spec);
        state.jobs[stage] = id;
        save();
      } else console.log(`${stage}: following ${id}, submitted by an earlier run`);
      await cluster.follow(id);
    };
    try {
      await timed('encode', embeddings, clusterRoles, () =>
        job('encode', { kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: 128 }, dtype: params.dtype }),
      );
      await timed('index', indexes, clusterRoles, async () => {
        await job('index', {
          kind: 'index',
          input: embeddings,
          output: indexes,
          indexes: [{ name: 'ivfpq', factory: 'IVF1024,PQ16', metric: 'ip', nprobe: 16 }],
          sharedQuantizer: {},
          bm25: { passages },
        });
        // The shared quantizer's training sample is read by the index job only.
        const swept = findLeftovers(indexes, { olderThanMs: 0, intermediates: [{ format: INDEX_SET_FORMAT, folders: ['sample'] }] });
        const freed = removeLeftovers(swept.filter((l) => l.kind === 'job intermediate'));
        console.log(`index: removed the shared quantizer's sample (${(freed / 2 ** 20).toFixed(0)} MiB)`);
      });
    } finally {
      await cluster.stop();
    }
  }

  // Serving: two shard-server processes, half the shards each, on a fresh nats-server.
  const nats = await NatsServerProcess.start();
  const serveEnv = { ...env, SCI_NATS__SERVERS: JSON.stringify([nats.url]) };
  const shardIds = Array.from({ length: params.shards }, (_, i) => i);
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
      track(nats.pid, ...started.children.map((c) => c.pid));
      await started.ready;
    },
    { resumable: false },
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
        const nq = params.queries;
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
        // Exact search one embedding shard at a time, merged as the router merges (one shard's vectors
        // in memory, not the corpus's: 21M × 128 floats would be 10.7 GB in this process).
        const perShard: Hit[][][] = [];
        for (const shard of (await readSetManifest(storage, embeddings, 'embeddings')).shards) {
          const v = readArrowVectors(join(embeddings, shard.path), 'embedding');
          const exact = FaissIndex.create({ dim: v.dim, factory: 'Flat', metric: 'ip' });
          await exact.add(v.data, v.ids);
          const found = await exact.search(vectors, K);
          perShard.push(
            Array.from({ length: nq }, (_, q) =>
              Array.from(found.labels.subarray(q * K, (q + 1) * K), (label, j) => ({
                rowId: Number(label),
                externalId: '',
                score: found.distances[q * K + j]!,
                shard: shard.id,
              })).filter((h) => h.rowId >= 0),
            ),
          );
        }
        const truth = Array.from({ length: nq }, (_, q) =>
          mergeTopK(
            perShard.map((lists) => lists[q]!),
            K,
            true,
          ).map((h) => h.rowId),
        );
        // A generated corpus has no judgments: a query's relevant passage is the one it was cut from.
        let found = 0;
        const success = { exact: 0, ivfpq: 0, bm25: 0 };
        const dense: number[] = [];
        const lexical: number[] = [];
        for (let q = 0; q < nq; q++) {
          let t0 = performance.now();
          const r = await service.search({ index: 'ivfpq', vectors: vectors.subarray(q * 128, (q + 1) * 128), k: K });
          dense.push(performance.now() - t0);
          const want = new Set(truth[q]);
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
      { resumable: false },
    );
  } finally {
    service.close();
    await nc.close();
    for (const s of servers) s.kill('SIGTERM');
    await nats.stop({ clean: true });
  }
  // What the corpus occupies at the end: passages, embeddings, indexes (the TSV was never written).
  const disk = { passages: duBytes(passages), embeddings: duBytes(embeddings), indexes: duBytes(indexes) };
  const total = disk.passages + disk.embeddings + disk.indexes;
  const kb = (bytes: number) => (bytes / rows / 1000).toFixed(2);
  console.log(
    `on disk: ${kb(total)} KB a passage (passages ${kb(disk.passages)}, ${params.dtype} embeddings ${kb(disk.embeddings)}, indexes ${kb(disk.indexes)}), ${(total / 2 ** 30).toFixed(2)} GiB in all`,
  );
  console.log(JSON.stringify({ bench: 'corpus-scale', ...params, stages: state.done, evaluation, disk: { ...disk, bytesPerPassage: total / rows } }));
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

await main();
