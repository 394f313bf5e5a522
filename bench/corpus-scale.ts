/*
 * bench/corpus-scale: the whole path at corpus scale on this machine, per
 * stage: wall time, peak RSS of every process taking part, bytes on disk,
 * rate. A psgs_w100-shaped corpus (sci generate passages: 100-word passages
 * in articles around WordNet synsets, or --kind zipf for unstructured Zipf
 * words) streamed into `sci ingest --input -` (no TSV on disk) as Arrow
 * shards; queries cut from passages and paraphrased through synonyms (sci
 * generate queries: train for training, mine for the mine job, dev for the evaluation);
 * an encoder trained on the training queries (or --encoder hashed, the
 * baseline); the corpus encoded through the cluster (coordinator + workers,
 * real nats-server; float16 embeddings by default), indexed (IVF1024,PQ16 on
 * a shared quantizer, BM25 per shard; the quantizer's sample swept after),
 * a dense mine job over the mine split's queries (IVF-PQ, top 100), then served
 * by --servers shard-server processes (2) and evaluated through scatter-gather
 * (corpus-scale-eval.ts: the source passage in the top 10, IVF-PQ's
 * Recall@10 against exact search, p50/p99 latency with 1 and 8 clients).
 * Run at 1M and 21M rows, the per-row cost of each stage shows how it grows
 * with size; the end says how many bytes a passage took on disk. --record
 * FILE writes the run as a result record (docs/scale/corpus-*.json, whose
 * README table is generated from it).
 *
 * A run survives its own restart (corpus-scale-state.ts): run the same
 * command again and finished stages are skipped, a job submitted before is
 * followed by its id, time and memory add up over attempts. --fresh starts
 * over; the run's folder is deleted at the end unless --keep.
 *
 *   node dist/bench/corpus-scale.js --rows 1000000 [--shards 16] [--workers 2] [--kind synsets|zipf] [--encoder trained|hashed]
 *       [--train-steps 1000] [--train-queries 200000] [--queries 1000] [--mine-queries 10000] [--clients 1,8] [--servers 2] [--dtype f16|f32] [--dir DIR] [--record FILE] [--keep] [--fresh]
 *   node dist/bench/corpus-scale.js --rows 21000000 --shards 336 --servers 8 --dir /a/disk/with/40GiB   (DPR's size)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { REPO } from './repo.js';
import { startBenchCluster } from './cluster-harness.js';
import { liveOwner, loadRunState, saveRunState, stopLeftovers, type CorpusScaleParams, type StageResult } from './corpus-scale-state.js';
import { evaluateCorpus, type CorpusEvaluation } from './corpus-scale-eval.js';
import { spawnShardServers } from './shard-servers.js';
import { duBytes, exited, processSampler } from './proc.js';
import { writeRecordFile } from './record-file.js';
import { FsStorage, findLeftovers, removeLeftovers } from '../storage/index.js';
import type { JobSpecInput } from '../jobs/index.js';
import { FINISHED_JOB_INTERMEDIATES, readManifest } from '../shards/index.js';
import { connectNats, NatsServerProcess } from '../messaging/index.js';
import { SearchService } from '../search/index.js';
import { captureProvenance } from '../results/index.js';
import { spawnSci } from '../cli/sci-process.js';
import { CORPUS_SCALE_RECORD, writeCorpusScaleReadme, type CorpusScaleRecord } from './corpus-scale-record.js';

/**
 * Training queries when --train-queries is not given (fewer where the corpus has no room for them). The
 * encoder used to train on the 10,000 mined queries: on 100,000 passages, 5,000 training queries gave
 * whole-corpus Recall@10 0.432 after 500 steps and 40,000 gave 0.615 (the smaller set's loss was near 0:
 * learned by heart).
 */
const DEFAULT_TRAIN_QUERIES = 200_000;
/** Bytes on disk a passage needs over the run (Arrow passages, float16 embeddings, indexes), with room to spare. */
const BYTES_PER_ROW = 2_200;
/**
 * The trained encoder: 128-d (16-byte PQ codes of 128 floats, float16 embeddings of 256 bytes), the whole
 * 100-word passage read (160 pieces), InfoNCE at temperature 0.1 (0.05, the default, stalled at Recall@10
 * 0.635 of a 20,000-passage dev pool on 100k passages, where 0.1 reached 0.651 in 600 steps), trained on a
 * sample of 500,000 passages (the same work at 1M and 21M), the hashed baseline measured on the same pool.
 */
const TRAIN_FLAGS = [
  '--dim',
  '128',
  '--temperature',
  '0.1',
  '--set',
  'model.maxLength=160',
  '--set',
  'tokenizer.size=30000',
  '--set',
  'data.corpusSample=500000',
  '--pool-size',
  '20000',
  '--baseline',
];

/** A positive integer flag, or an error naming it. */
function count(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} is a positive integer, not ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      shards: { type: 'string', default: '16' },
      workers: { type: 'string', default: '2' },
      kind: { type: 'string', default: 'synsets' },
      encoder: { type: 'string', default: 'trained' },
      'train-steps': { type: 'string', default: '1000' },
      queries: { type: 'string', default: '1000' },
      'mine-queries': { type: 'string', default: '10000' },
      'train-queries': { type: 'string' },
      clients: { type: 'string', default: '1,8' },
      servers: { type: 'string', default: '2' },
      dtype: { type: 'string', default: 'f16' },
      dir: { type: 'string' },
      record: { type: 'string' },
      keep: { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
    },
  });
  if (values.dtype !== 'f16' && values.dtype !== 'f32') throw new Error(`--dtype is f16 or f32, not ${values.dtype}`);
  if (values.kind !== 'synsets' && values.kind !== 'zipf') throw new Error(`--kind is synsets or zipf, not ${values.kind}`);
  if (values.encoder !== 'trained' && values.encoder !== 'hashed') throw new Error(`--encoder is trained or hashed, not ${values.encoder}`);
  const params: CorpusScaleParams = {
    rows: count('rows', values.rows),
    shards: count('shards', values.shards),
    workers: count('workers', values.workers),
    dtype: values.dtype,
    kind: values.kind,
    encoder: values.encoder,
    trainSteps: count('train-steps', values['train-steps']),
    queries: count('queries', values.queries),
    mineQueries: count('mine-queries', values['mine-queries']),
  };
  // sci generate queries cuts at most one query from two passages; the training queries get what the other splits leave, up to 200,000.
  const queryRoom = Math.floor(params.rows / 2) - params.mineQueries - 2 * params.queries;
  const trainQueries = values['train-queries'] === undefined ? Math.min(DEFAULT_TRAIN_QUERIES, queryRoom) : count('train-queries', values['train-queries']);
  if (trainQueries < 1 || trainQueries > queryRoom)
    throw new Error(
      `${params.rows} passages give at most ${Math.floor(params.rows / 2)} queries (one per two passages): ${params.mineQueries + 2 * params.queries} mine, dev and test queries ` +
        (values['train-queries'] === undefined
          ? 'leave none to train on (lower --mine-queries or --queries, or raise --rows)'
          : `leave ${Math.max(0, queryRoom)} for --train-queries ${trainQueries}`),
    );
  params.trainQueries = trainQueries;
  const clients = values.clients.split(',').map((c) => count('clients', c));
  const serverCount = Math.min(count('servers', values.servers), params.shards);
  const rows = params.rows;
  const dir = resolve(values.dir ?? join(REPO, 'out', `corpus-${rows}`));
  if (values.fresh) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const { state, resumed } = loadRunState(dir, params);
  const save = () => saveRunState(dir, state);
  const code = captureProvenance().describe ?? 'unknown';
  if (state.code.length > 0 && state.code[state.code.length - 1] !== code)
    console.log(`bench/corpus-scale: the earlier attempts ran ${state.code.join(', ')}; this one runs ${code} (the record names every one)`);
  if (state.code[state.code.length - 1] !== code) state.code.push(code);
  if (resumed) {
    const owner = liveOwner(state);
    if (owner !== null)
      throw new Error(`another bench/corpus-scale (pid ${owner}) is running the run in ${dir}: stop it first (a run continues where it was killed)`);
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
  state.owner = process.pid;
  save();
  const track = (...pids: Array<number | undefined | null>) => {
    for (const pid of pids) if (pid) state.pids.push(pid);
    save();
  };
  const env = { ...process.env, SCI_LOG__LEVEL: 'warn', SCI_LOG__PRETTY: 'false', SCI_STORAGE__ROOT: '/' };
  const print = (r: StageResult, note = '') =>
    console.log(
      `${r.stage.padEnd(9)} ${r.seconds.toFixed(1).padStart(8)} s  ${(r.items / r.seconds).toFixed(0).padStart(7)} ${r.unit}/s  ${(r.bytes / 2 ** 20).toFixed(0).padStart(7)} MiB on disk  peak RSS ${Object.entries(
        r.peakRssMiB,
      )
        .map(([role, m]) => `${role} ${m.toFixed(0)} MiB`)
        .join(', ')}${r.attempts > 1 ? `  (${r.attempts} attempts)` : ''}${note}`,
    );
  /** Runs a stage unless an earlier run finished it; its time and memory are saved every 5 s, so a restart adds on. */
  const timed = async (
    stage: string,
    output: { path: string; items: number; unit: string },
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
    const sampler = processSampler(roles, earlier?.peakRssMiB ?? {});
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
    const result: StageResult = {
      stage,
      seconds: elapsed(),
      attempts,
      peakRssMiB: sampler.stop(),
      bytes: duBytes(output.path),
      items: output.items,
      unit: output.unit,
    };
    state.done = [...state.done.filter((d) => d.stage !== stage), result];
    state.running = null;
    save();
    print(result);
  };
  /** A `sci` command as a stage's child process, tracked so a restarted run can stop it. */
  const sci = async (args: string[], what: string, children: ChildProcess[]) => {
    const child = spawnSci(args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    children.push(child);
    track(child.pid);
    await exited(child, what);
  };
  console.log(
    `bench/corpus-scale: ${rows} ${params.kind} passages, ${params.shards} shards, ${params.workers} workers, ${params.encoder} encoder, ${params.dtype} embeddings, in ${dir}`,
  );

  // Generated and ingested in one stream: the TSV never reaches the disk.
  const passages = join(dir, 'passages');
  const streaming: ChildProcess[] = [];
  await timed(
    'ingest',
    { path: passages, items: rows, unit: 'passages' },
    () => ({ generator: streaming[0]?.pid ? [streaming[0].pid] : [], ingest: streaming[1]?.pid ? [streaming[1].pid] : [] }),
    async () => {
      rmSync(passages, { recursive: true, force: true });
      const generator = spawnSci(['generate', 'passages', '--rows', String(rows), '--kind', params.kind, '--out', '-'], {
        env,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
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

  // Queries cut from passages: train (the encoder's training pairs), mine (what the mine job mines), dev (the evaluation), test (held out).
  const queryFiles = join(passages, 'queries.jsonl');
  const generating: ChildProcess[] = [];
  const totalQueries = trainQueries + params.mineQueries + 2 * params.queries;
  await timed(
    'queries',
    { path: queryFiles, items: totalQueries, unit: 'queries' },
    () => ({ generator: generating.map((c) => c.pid!) }),
    async () => {
      // A run killed after the manifest was rewritten has its queries (the same ones: seeded); generating again would be refused.
      if (readManifest(passages).manifest.queries !== null) {
        console.log('queries: written by an earlier run');
        return;
      }
      const splits = `train=${trainQueries},mine=${params.mineQueries},dev=${params.queries},test=${params.queries}`;
      await sci(['generate', 'queries', '--passages', passages, '--splits', splits], 'sci generate queries', generating);
    },
  );

  const model = join(dir, 'model');
  const training: ChildProcess[] = [];
  if (params.encoder === 'trained')
    await timed(
      'train',
      { path: model, items: params.trainSteps, unit: 'steps' },
      () => ({ trainer: training.map((c) => c.pid!) }),
      async () => {
        rmSync(model, { recursive: true, force: true });
        const steps = String(params.trainSteps);
        await sci(['train', '--shards', passages, '--out', model, '--steps', steps, '--eval-every', steps, ...TRAIN_FLAGS], 'sci train', training);
      },
    );

  const embeddings = join(dir, 'embeddings');
  const indexes = join(dir, 'indexes');
  const mined = join(dir, 'mined');
  const building = ['encode', 'index', 'mine'].some((s) => !state.done.some((d) => d.stage === s));
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
      const encoder = params.encoder === 'trained' ? { kind: 'model' as const, path: join(model, 'best') } : { kind: 'hashed-tfidf' as const, dim: 128 };
      await timed('encode', { path: embeddings, items: rows, unit: 'passages' }, clusterRoles, () =>
        job('encode', { kind: 'encode', input: passages, output: embeddings, encoder, dtype: params.dtype }),
      );
      await timed('index', { path: indexes, items: rows, unit: 'passages' }, clusterRoles, async () => {
        await job('index', {
          kind: 'index',
          input: embeddings,
          output: indexes,
          indexes: [{ name: 'ivfpq', factory: 'IVF1024,PQ16', metric: 'ip', nprobe: 16 }],
          sharedQuantizer: {},
          bm25: { passages },
        });
        // The shared quantizer's training sample is read by the index job only.
        const swept = findLeftovers(indexes, { olderThanMs: 0, intermediates: FINISHED_JOB_INTERMEDIATES });
        const freed = removeLeftovers(swept.filter((l) => l.kind === 'job intermediate'));
        console.log(`index: removed the shared quantizer's sample (${(freed / 2 ** 20).toFixed(0)} MiB)`);
      });
      // Hard negatives from IVF-PQ's top 100 for the mine split's queries, as the three-stage pipeline mines its training queries.
      await timed('mine', { path: mined, items: params.mineQueries, unit: 'queries' }, clusterRoles, async () => {
        await job('mine', {
          kind: 'mine',
          input: indexes,
          output: mined,
          queries: { passages, split: 'mine' },
          source: { kind: 'dense', index: 'ivfpq' },
          k: 100,
        });
        const swept = findLeftovers(mined, { olderThanMs: 0, intermediates: FINISHED_JOB_INTERMEDIATES });
        const freed = removeLeftovers(swept.filter((l) => l.kind === 'job intermediate'));
        console.log(`mine: removed the candidates and parts (${(freed / 2 ** 20).toFixed(0)} MiB)`);
      });
    } finally {
      await cluster.stop();
    }
  }

  // Serving: --servers shard-server processes (2 by default), the shards dealt round-robin, on a fresh nats-server.
  const nats = await NatsServerProcess.start();
  const serveEnv = { ...env, SCI_NATS__SERVERS: JSON.stringify([nats.url]) };
  const shardIds = Array.from({ length: params.shards }, (_, i) => i);
  const servers: ChildProcess[] = [];
  await timed(
    'serve',
    { path: indexes, items: rows, unit: 'passages' },
    () => ({ 'shard-server': servers.map((s) => s.pid!) }),
    async () => {
      const started = spawnShardServers(
        serveEnv,
        indexes,
        Array.from({ length: serverCount }, (_, k) => shardIds.filter((s) => s % serverCount === k).join(',')),
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
  let evaluation: CorpusEvaluation | null = null;
  try {
    await timed(
      'eval',
      { path: indexes, items: params.queries, unit: 'queries' },
      () => ({ 'shard-server': servers.map((s) => s.pid!), bench: [process.pid] }),
      async () => {
        evaluation = await evaluateCorpus({ service, storage, passages, embeddings, split: 'dev', clients });
        const e: CorpusEvaluation = evaluation;
        const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
        console.log(
          `eval: ${e.queries} dev queries; the source passage in the top 10: exact ${pct(e.successAt10.exact)}, IVF1024,PQ16 (nprobe 16) ${pct(e.successAt10.ivfpq)}, BM25 ${pct(e.successAt10.bm25)}; IVF-PQ Recall@10 against exact ${e.ivfpqRecallAt10.toFixed(3)}`,
        );
        for (const index of ['ivfpq', 'bm25'] as const)
          for (const run of e.latency[index])
            console.log(
              `      ${index} with ${run.clients} client${run.clients > 1 ? 's' : ''}: p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, ${run.qps.toFixed(0)} queries/s`,
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
  // What the corpus occupies at the end: passages (with the queries), embeddings, indexes (the TSV was never written), the model, the negatives.
  const disk = { passages: duBytes(passages), embeddings: duBytes(embeddings), indexes: duBytes(indexes), model: duBytes(model), negatives: duBytes(mined) };
  const total = Object.values(disk).reduce((n, b) => n + b, 0);
  const kb = (bytes: number) => (bytes / rows / 1000).toFixed(2);
  console.log(
    `on disk: ${kb(total)} KB a passage (passages ${kb(disk.passages)}, ${params.dtype} embeddings ${kb(disk.embeddings)}, indexes ${kb(disk.indexes)}, model ${kb(disk.model)}, negatives ${kb(disk.negatives)}), ${(total / 2 ** 30).toFixed(2)} GiB in all`,
  );
  const record: CorpusScaleRecord = {
    format: CORPUS_SCALE_RECORD,
    command: `node dist/bench/corpus-scale.js ${process.argv.slice(2).join(' ')}`.trim(),
    provenance: captureProvenance(),
    code: state.code,
    params,
    clients,
    stages: state.done,
    evaluation: evaluation!,
    disk: { ...disk, bytesPerPassage: total / rows },
  };
  console.log(JSON.stringify(record));
  if (values.record) {
    const file = resolve(values.record);
    writeRecordFile(file, record);
    console.log(`record: ${file}`);
    if (dirname(file) === join(REPO, 'docs', 'scale')) {
      writeCorpusScaleReadme(join(REPO, 'README.md'), dirname(file));
      console.log('README: the corpus-scale tables regenerated from docs/scale/corpus-*.json');
    }
  }
  if (values.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

await main();
