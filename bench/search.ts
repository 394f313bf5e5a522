/*
 * bench/search: scatter-gather over 8 shards (two shard-server processes on a
 * real nats-server) against one in-process Faiss index of the same vectors,
 * in one run, for Flat and HNSW32. WordNet (117,791 passages), the baseline
 * encoder at 128 dimensions, WordNet dev queries.
 *   latency: single-query searches one after another, p50 / p99;
 *   QPS:     4 concurrent clients sending batches of 16 queries for T seconds.
 * Goals (issue 6): added p50 ≤ 2 ms, QPS ratio ≥ 0.8.
 *
 *   node dist/bench/search.js [--seconds T] [--keep]
 */
import { readQueriesFile } from '../shards/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchScratch } from './scratch.js';
import pino from 'pino';
import { ingestWordnet } from './wordnet.js';
import { runJobLocally } from '../coordinator/index.js';
import { FsStorage } from '../storage/index.js';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { connectNats, NatsServerProcess } from '../messaging/index.js';
import { SearchService } from '../search/index.js';
import { percentile } from '../eval/index.js';
import { runLoad } from '../scale/index.js';
import { spawnShardServers } from './shard-servers.js';

const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false }, seconds: { type: 'string', default: '5' } } });
const seconds = Number(values.seconds);
const scratch = benchScratch('sci-bench-search-', values.keep === true);
const dir = scratch.dir;
const storage = new FsStorage('/');
const logger = pino({ level: 'silent' });

async function main(): Promise<void> {
  console.log('bench/search: building WordNet, 8 shards, baseline encoder 128-d, Flat + HNSW32 per shard …');
  const passages = join(dir, 'passages');
  await ingestWordnet(passages, 8);
  const embeddings = join(dir, 'embeddings');
  await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: 128 } }, storage, { threads: 2 });
  const indexes = join(dir, 'indexes');
  await runJobLocally(
    {
      kind: 'index',
      input: embeddings,
      output: indexes,
      indexes: [
        { name: 'flat', factory: 'Flat', metric: 'ip' },
        { name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip', efSearch: 64 },
      ],
    },
    storage,
    { threads: 2 },
  );

  // The in-process baseline: one index over every vector.
  const manifest = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as { shards: Array<{ path: string }> };
  const parts = manifest.shards.map((s) => readArrowVectors(join(embeddings, s.path), 'embedding'));
  const all = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  const ids = new BigInt64Array(parts.reduce((n, p) => n + p.count, 0));
  let offset = 0;
  let row = 0;
  for (const p of parts) {
    all.set(p.data, offset);
    ids.set(p.ids!, row);
    offset += p.data.length;
    row += p.count;
  }
  setFaissThreads(2);
  const global = {
    flat: FaissIndex.create({ dim: 128, factory: 'Flat', metric: 'ip' }),
    hnsw: FaissIndex.create({ dim: 128, factory: 'HNSW32,Flat', metric: 'ip' }),
  };
  for (const index of Object.values(global)) await index.add(all, ids);
  global.hnsw.setDefaultEfSearch(64);

  const nats = await NatsServerProcess.start();
  // The servers' storage root holds the bench's folder (keys outside the root are refused).
  const env = { ...process.env, SCI_NATS__SERVERS: JSON.stringify([nats.url]), SCI_LOG__LEVEL: 'warn', SCI_STORAGE__ROOT: dir };
  const { children: servers, ready } = spawnShardServers(env, indexes, ['0-3', '4-7']);
  await ready;
  const nc = await connectNats({ servers: [nats.url], name: 'bench-search' });
  const service = await SearchService.open({ nc, storage, indexSet: indexes, logger, deadlineMs: 10_000, limits: { maxQueries: 4096 } });
  try {
    const queries = readQueriesFile(join(passages, 'queries.jsonl'))
      .filter((q) => q.split === 'dev')
      .map((q) => q.text)
      .slice(0, 2048);
    const vectors = await service.encode(queries, 'query');
    const one = (i: number) => vectors.subarray((i % queries.length) * 128, ((i % queries.length) + 1) * 128);
    const batch = (i: number) => {
      const from = (i * 16) % (queries.length - 16);
      return vectors.subarray(from * 128, (from + 16) * 128);
    };
    console.log(`${queries.length} dev queries; latency: 500 single-query searches in sequence; QPS: 4 clients × batches of 16 for ${seconds} s; k = 10`);
    console.log('index  path            p50 ms   p99 ms       QPS  distances/query');
    for (const name of ['flat', 'hnsw'] as const) {
      const timings: Record<string, { p50: number; p99: number; qps: number; ndis: number }> = {};
      for (const path of ['in-process', 'scatter-gather'] as const) {
        const search =
          path === 'in-process' ? (v: Float32Array) => global[name].search(v, 10) : (v: Float32Array) => service.search({ index: name, vectors: v, k: 10 });
        for (let i = 0; i < 50; i++) await search(one(i)); // warm-up
        const times: number[] = [];
        // Scatter-gather's own cost: the whole search minus the slowest shard's service time (as its server reported it).
        const overheads: number[] = [];
        let ndis = 0;
        for (let i = 0; i < 500; i++) {
          const t0 = performance.now();
          const result = await search(one(i));
          const took = performance.now() - t0;
          times.push(took);
          ndis += result.counters.ndis;
          if ('serviceMs' in result) overheads.push(took - Math.max(...Object.values(result.serviceMs)));
        }
        times.sort((a, b) => a - b);
        if (overheads.length > 0) {
          overheads.sort((a, b) => a - b);
          const p50 = percentile(overheads, 50);
          console.log(
            `${name.padEnd(6)} scatter-gather over the slowest shard's service time: p50 ${p50.toFixed(2)} ms, p99 ${percentile(overheads, 99).toFixed(2)} ms (goal ≤ 1 ms at p50${p50 <= 1 ? ', met' : ', missed'})`,
          );
        }
        const load = await runLoad<unknown>(path, { clients: 4, seconds }, (c, i) => search(batch(c * 1000 + i)));
        if (load.errors > 0) throw new Error(`${path}: ${load.errors} errors (${load.firstError})`);
        timings[path] = { p50: percentile(times, 50), p99: percentile(times, 99), qps: load.qps * 16, ndis: ndis / 500 };
        console.log(
          `${name.padEnd(6)} ${path.padEnd(15)} ${timings[path]!.p50.toFixed(2).padStart(7)} ${timings[path]!.p99.toFixed(2).padStart(8)} ${timings[path]!.qps.toFixed(0).padStart(9)} ${timings[path]!.ndis.toFixed(0).padStart(16)}`,
        );
      }
      const added = timings['scatter-gather']!.p50 - timings['in-process']!.p50;
      const ratio = timings['scatter-gather']!.qps / timings['in-process']!.qps;
      console.log(
        `${name.padEnd(6)} added p50 ${added.toFixed(2)} ms (goal ≤ 2 ms${added <= 2 ? ', met' : ', missed'}); QPS ratio ${ratio.toFixed(2)} (goal ≥ 0.8${ratio >= 0.8 ? ', met' : ', missed'})`,
      );
    }
  } finally {
    service.close();
    await nc.close();
    for (const s of servers) s.kill('SIGTERM');
    await nats.stop({ clean: true });
    scratch.done();
  }
}

await main();
