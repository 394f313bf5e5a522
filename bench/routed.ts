/*
 * bench/routed: routed IVF search against the data-sharded layouts and one
 * in-process index, in one run. WordNet (117,791 passages) in 8 shards, the
 * baseline encoder at 128-d, IVF256,Flat (ip), on a real nats-server with
 * two server processes per layout:
 *   sharded (own):     every shard trains its own quantizer (the default);
 *   sharded (shared):  one quantizer for the set, every shard asked;
 *   routed:            the shared set's lists on 4 partitions, each query
 *                      sent only to the partitions owning its probed lists;
 *   in-process:        one IVF index of every row on the shared quantizer.
 * For nprobe 1…128: Recall@10 against exact search, distances per query,
 * servers asked per query (fan-out) and single-query p50; then each layout at
 * equal recall (interpolated between sweep points); then QPS (4 clients ×
 * batches of 16) at the smallest nprobe reaching Recall@10 0.9, routed
 * against in-process (goal ≥ 0.8×).
 *
 *   node dist/bench/routed.js [--seconds 5] [--queries 1000] [--keep]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import type { ChildProcess } from 'node:child_process';
import pino from 'pino';
import { ingestWordnet } from './wordnet.js';
import { devQueryTexts, valueAtRecall } from './recall.js';
import { runLoad } from '../scale/index.js';
import { spawnShardServers } from './shard-servers.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { readSetManifest } from '../shards/index.js';
import { connectNats, NatsServerProcess } from '../messaging/index.js';
import { SearchService } from '../search/index.js';
import { percentile } from '../eval/index.js';

const K = 10;
const DIM = 128;
const NLIST = 256;
const PARTITIONS = 4;
const NPROBES = [1, 2, 4, 8, 16, 32, 64, 128, 256];
const TARGETS = [0.8, 0.9, 0.95];
const LAYOUTS = ['sharded (own)', 'sharded (shared)', 'routed', 'in-process'] as const;
type Layout = (typeof LAYOUTS)[number];

interface Point {
  nprobe: number;
  recall: number;
  distances: number;
  fanOut: number;
  p50Ms: number;
}

const valueAt = (points: Point[], target: number, key: 'distances' | 'fanOut' | 'p50Ms') => valueAtRecall(points, target, key);

async function startServers(nats: string, root: string, indexSet: string, groups: string[], routed: boolean): Promise<ChildProcess[]> {
  const env = { ...process.env, SCI_NATS__SERVERS: JSON.stringify([nats]), SCI_LOG__LEVEL: 'warn', SCI_STORAGE__ROOT: root };
  const { children, ready } = spawnShardServers(env, indexSet, groups, routed ? ['--layout', 'routed'] : []);
  await ready;
  return children;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { keep: { type: 'boolean', default: false }, seconds: { type: 'string', default: '5' }, queries: { type: 'string', default: '1000' } },
  });
  const seconds = Number(values.seconds);
  const scratch = benchScratch('sci-bench-routed-', values.keep === true);
  const dir = scratch.dir;
  const storage = new FsStorage('/');
  const logger = pino({ level: 'silent' });
  const servers: ChildProcess[] = [];
  let nats: NatsServerProcess | null = null;
  try {
    console.log(`bench/routed: WordNet in 8 shards, baseline encoder ${DIM}-d, IVF${NLIST},Flat ip; routed over ${PARTITIONS} partitions …`);
    const passages = join(dir, 'passages');
    await ingestWordnet(passages, 8);
    const embeddings = join(dir, 'embeddings');
    await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: DIM } }, storage, { threads: 2 });
    const spec = { name: 'ivf', factory: `IVF${NLIST},Flat`, metric: 'ip' as const, nprobe: 1 };
    const own = join(dir, 'own');
    const shared = join(dir, 'shared');
    await runJobLocally({ kind: 'index', input: embeddings, output: own, indexes: [spec] }, storage, { threads: 2 });
    await runJobLocally(
      { kind: 'index', input: embeddings, output: shared, indexes: [spec], sharedQuantizer: {}, routed: { partitions: PARTITIONS } },
      storage,
      { threads: 2 },
    );

    // Exact search, and the in-process index: the shared quantizer's trained index holding every row.
    const set = await readSetManifest(storage, shared, 'indexes');
    const exactIndex = FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'ip' });
    const global = await FaissIndex.load(join(shared, set.indexes[0]!.quantizer!.path));
    for (const shard of (await readSetManifest(storage, embeddings, 'embeddings')).shards) {
      const v = readArrowVectors(join(embeddings, shard.path), 'embedding');
      await exactIndex.add(v.data, v.ids);
      await global.add(v.data, v.ids);
    }
    const placement = JSON.parse(readFileSync(join(shared, set.routed!.parts[0]!.files.find((f) => f.role === 'placement:ivf')!.path), 'utf8')) as {
      load: number[];
    };
    console.log(`partitions hold ${placement.load.join(' / ')} rows (placed by list size)`);

    nats = await NatsServerProcess.start();
    servers.push(...(await startServers(nats.url, dir, own, ['0-3', '4-7'], false)));
    servers.push(...(await startServers(nats.url, dir, shared, ['0-3', '4-7'], false)));
    servers.push(...(await startServers(nats.url, dir, shared, ['0-1', '2-3'], true)));
    const nc = await connectNats({ servers: [nats.url], name: 'bench-routed' });
    const open = (indexSet: string, routed: boolean) =>
      SearchService.open({ nc, storage, indexSet, logger, deadlineMs: 30_000, limits: { maxQueries: 4096 }, layout: routed ? 'routed' : 'shards' });
    const services = { 'sharded (own)': await open(own, false), 'sharded (shared)': await open(shared, false), routed: await open(shared, true) };
    setFaissThreads(2);

    const texts = devQueryTexts(passages, Number(values.queries));
    const nq = texts.length;
    const all = new Float32Array(nq * DIM);
    for (let from = 0; from < nq; from += 256) all.set(await services.routed.encode(texts.slice(from, from + 256), 'query'), from * DIM);
    const truth = await exactIndex.search(all, K);
    const exact = Array.from({ length: nq }, (_, q) => new Set(Array.from(truth.labels.subarray(q * K, q * K + K), Number)));
    const one = (i: number) => all.subarray((i % nq) * DIM, ((i % nq) + 1) * DIM);

    type Searcher = (v: Float32Array, nprobe: number) => Promise<{ ids: number[][]; ndis: number; asked: number; serviceMs: number | null }>;
    const searchers: Record<Layout, Searcher> = {
      'in-process': async (v, nprobe) => {
        const r = await global.search(v, K, { nprobe });
        const n = r.nq;
        return {
          ids: Array.from({ length: n }, (_, q) => Array.from(r.labels.subarray(q * K, q * K + K), Number)),
          ndis: r.counters.ndis,
          asked: 1,
          serviceMs: null,
        };
      },
      ...(Object.fromEntries(
        (['sharded (own)', 'sharded (shared)', 'routed'] as const).map((layout) => [
          layout,
          async (v: Float32Array, nprobe: number) => {
            const r = await services[layout].search({ index: 'ivf', vectors: v, k: K, nprobe });
            if (r.partial) throw new Error(`${layout}: partial answer (${JSON.stringify(r.missingShards)})`);
            return {
              ids: r.hits.map((h) => h.map((x) => x.rowId)),
              ndis: r.counters.ndis,
              asked: Object.keys(r.shardMs).length,
              serviceMs: Math.max(...Object.values(r.serviceMs)),
            };
          },
        ]),
      ) as Record<Exclude<Layout, 'in-process'>, Searcher>),
    };

    const sweeps = {} as Record<Layout, Point[]>;
    console.log(`${nq} dev queries; recall and distances over all of them (batches of 256); fan-out and p50 over 200 single-query searches`);
    console.log('layout              nprobe  R@10    dist/q  asked  p50 ms');
    for (const layout of LAYOUTS) {
      sweeps[layout] = [];
      for (const nprobe of NPROBES) {
        let found = 0;
        let ndis = 0;
        for (let from = 0; from < nq; from += 256) {
          const r = await searchers[layout](all.subarray(from * DIM, Math.min(nq, from + 256) * DIM), nprobe);
          r.ids.forEach((ids, q) => (found += ids.filter((id) => exact[from + q]!.has(id)).length));
          ndis += r.ndis;
        }
        for (let i = 0; i < 20; i++) await searchers[layout](one(i), nprobe); // warm-up
        const times: number[] = [];
        let asked = 0;
        for (let i = 0; i < 200; i++) {
          const t0 = performance.now();
          const r = await searchers[layout](one(i), nprobe);
          times.push(performance.now() - t0);
          asked += r.asked;
        }
        times.sort((a, b) => a - b);
        const point = { nprobe, recall: found / (nq * K), distances: ndis / nq, fanOut: asked / 200, p50Ms: percentile(times, 50) };
        sweeps[layout].push(point);
        console.log(
          `${layout.padEnd(18)} ${String(nprobe).padStart(7)}  ${point.recall.toFixed(4)} ${point.distances.toFixed(0).padStart(8)} ${point.fanOut.toFixed(2).padStart(6)} ${point.p50Ms.toFixed(2).padStart(7)}`,
        );
      }
    }

    const equalRecall = TARGETS.map((target) => ({
      target,
      ...Object.fromEntries(
        LAYOUTS.map((layout) => [
          layout,
          {
            distances: valueAt(sweeps[layout], target, 'distances'),
            fanOut: valueAt(sweeps[layout], target, 'fanOut'),
            p50Ms: valueAt(sweeps[layout], target, 'p50Ms'),
          },
        ]),
      ),
    })) as Array<{ target: number } & Record<Layout, { distances: number | null; fanOut: number | null; p50Ms: number | null }>>;
    console.log('at equal Recall@10 (interpolated):');
    for (const e of equalRecall)
      console.log(
        `  ${e.target}: ` +
          LAYOUTS.map(
            (l) => `${l} ${e[l].distances?.toFixed(0) ?? '-'} dist/q, ${e[l].fanOut?.toFixed(2) ?? '-'} asked, p50 ${e[l].p50Ms?.toFixed(2) ?? '-'} ms`,
          ).join('; '),
      );

    // Throughput at the smallest grid nprobe reaching 0.9 for each layout.
    const nprobeFor = (layout: Layout) => (sweeps[layout].find((p) => p.recall >= 0.9) ?? sweeps[layout].at(-1)!).nprobe;
    const batch = (i: number) => {
      const from = (i * 16) % (nq - 16);
      return all.subarray(from * DIM, (from + 16) * DIM);
    };
    const qps = {} as Record<Layout, { nprobe: number; qps: number; p50Ms: number; p99Ms: number }>;
    for (const layout of LAYOUTS) {
      const nprobe = nprobeFor(layout);
      const load = await runLoad(layout, { clients: 4, seconds }, (c, i) => searchers[layout](batch(c * 1000 + i), nprobe));
      if (load.errors > 0) throw new Error(`${layout}: ${load.errors} errors (${load.firstError})`);
      qps[layout] = { nprobe, qps: load.qps * 16, p50Ms: load.p50Ms, p99Ms: load.p99Ms };
      console.log(
        `QPS ${layout.padEnd(18)} nprobe ${String(nprobe).padStart(3)}: ${(load.qps * 16).toFixed(0).padStart(6)} queries/s (batch p50 ${load.p50Ms.toFixed(2)} ms, p99 ${load.p99Ms.toFixed(2)} ms)`,
      );
    }
    const ratio = qps.routed.qps / qps['in-process'].qps;
    console.log(`routed / in-process QPS at equal recall: ${ratio.toFixed(2)} (goal ≥ 0.8${ratio >= 0.8 ? ', met' : ', missed'})`);

    // Routed's own cost per single query: the whole search minus the slowest partition's service time.
    const overheads: number[] = [];
    const nprobe = nprobeFor('routed');
    for (let i = 0; i < 300; i++) {
      const t0 = performance.now();
      const r = await searchers.routed(one(i), nprobe);
      overheads.push(performance.now() - t0 - r.serviceMs!);
    }
    overheads.sort((a, b) => a - b);
    console.log(
      `routed over the slowest partition's service time: p50 ${percentile(overheads, 50).toFixed(2)} ms, p99 ${percentile(overheads, 99).toFixed(2)} ms`,
    );
    console.log(JSON.stringify({ bench: 'routed', nlist: NLIST, partitions: PARTITIONS, queries: nq, sweeps, equalRecall, qps, ratio }));
    for (const service of Object.values(services)) service.close();
    await nc.close();
  } finally {
    for (const s of servers) s.kill('SIGTERM');
    await nats?.stop({ clean: true });
    scratch.done();
  }
}

await main();
