/*
 * bench/corpus-scale's evaluation, through scatter-gather: the dev queries
 * that `sci generate queries` cut from passages (each judged relevant to its
 * source passage) searched on the served IVF-PQ and BM25 indexes; the exact
 * reference is a Flat search of every embedding shard, merged as the router
 * merges (one shard's vectors in memory at a time, never the corpus's).
 * Quality: the source in the top 10 (exact, IVF-PQ, BM25) and IVF-PQ's
 * Recall@10 against exact search. Latency: every query once per client
 * count, each client sending one query at a time (p50, p99, QPS).
 */
import { join } from 'node:path';
import { FaissIndex, setFaissThreads } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { readPassageRows, readSetManifest } from '../shards/index.js';
import type { FsStorage } from '../storage/index.js';
import { mergeTopK, type Hit, type SearchService } from '../search/index.js';
import { loadJudgedQueries, percentile } from '../eval/index.js';

const K = 10;

export interface LatencyRun {
  clients: number;
  p50Ms: number;
  p99Ms: number;
  qps: number;
}

export interface CorpusEvaluation {
  queries: number;
  /** Share of queries whose source passage is in the top 10. */
  successAt10: { exact: number; ivfpq: number; bm25: number };
  /** IVF-PQ's top 10 against exact search's, over every query. */
  ivfpqRecallAt10: number;
  latency: { ivfpq: LatencyRun[]; bm25: LatencyRun[] };
}

/** Every query sent once, by `clients` concurrent senders of one query at a time. */
async function latencyRun(queries: number, clients: number, send: (q: number) => Promise<unknown>): Promise<LatencyRun> {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let q = next++; q < queries; q = next++) {
        const t0 = performance.now();
        await send(q);
        times.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return { clients, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), qps: queries / seconds };
}

/** Each query's source passage as a row id; the generated corpus numbers passages 1..N, checked here against the shards. */
async function sourceRows(storage: FsStorage, passages: string, sources: string[]): Promise<number[]> {
  const rows = sources.map((id) => Number(id) - 1);
  const manifest = await readSetManifest(storage, passages, 'passages');
  for (const [row, passage] of readPassageRows(passages, manifest.shards, rows, []))
    if (passage.externalId !== String(row + 1))
      throw new Error(`row ${row} of ${passages} has id ${passage.externalId}: not a generated corpus (ids 1..N in order)`);
  return rows;
}

/** Exact top 10 of every query: a Flat search of each embedding shard in turn, merged. */
async function exactTopK(storage: FsStorage, embeddings: string, vectors: Float32Array, nq: number): Promise<number[][]> {
  setFaissThreads(2);
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
  return Array.from({ length: nq }, (_, q) =>
    mergeTopK(
      perShard.map((lists) => lists[q]!),
      K,
      true,
    ).map((h) => h.rowId),
  );
}

export async function evaluateCorpus(options: {
  service: SearchService;
  storage: FsStorage;
  passages: string;
  embeddings: string;
  split: string;
  clients: readonly number[];
}): Promise<CorpusEvaluation> {
  const { service, storage } = options;
  const { sample, qrels } = loadJudgedQueries({ queries: options.passages, split: options.split });
  const nq = sample.ids.length;
  const sources = await sourceRows(
    storage,
    options.passages,
    sample.ids.map((id) => [...qrels.get(id)!.keys()][0]!),
  );
  // Encoded as the API would be asked: at most 256 texts a request.
  const parts: Float32Array[] = [];
  for (let from = 0; from < nq; from += 256) parts.push(await service.encode(sample.texts.slice(from, from + 256), 'query'));
  const dim = parts[0]!.length / Math.min(256, nq);
  const vectors = new Float32Array(nq * dim);
  parts.forEach((part, i) => vectors.set(part, i * 256 * dim));
  const truth = await exactTopK(storage, options.embeddings, vectors, nq);
  const dense = (q: number) => service.search({ index: 'ivfpq', vectors: vectors.subarray(q * dim, (q + 1) * dim), k: K });
  const lexical = (q: number) => service.search({ index: 'bm25', queries: [sample.texts[q]!], k: K });
  let found = 0;
  const success = { exact: 0, ivfpq: 0, bm25: 0 };
  for (let q = 0; q < nq; q++) {
    const want = new Set(truth[q]);
    const ivfpq = (await dense(q)).hits[0]!;
    const bm25 = (await lexical(q)).hits[0]!;
    found += ivfpq.filter((h) => want.has(h.rowId)).length;
    if (want.has(sources[q]!)) success.exact += 1;
    if (ivfpq.some((h) => h.rowId === sources[q])) success.ivfpq += 1;
    if (bm25.some((h) => h.rowId === sources[q])) success.bm25 += 1;
  }
  const latency: CorpusEvaluation['latency'] = { ivfpq: [], bm25: [] };
  for (const clients of options.clients) {
    latency.ivfpq.push(await latencyRun(nq, clients, dense));
    latency.bm25.push(await latencyRun(nq, clients, lexical));
  }
  return {
    queries: nq,
    successAt10: { exact: success.exact / nq, ivfpq: success.ivfpq / nq, bm25: success.bm25 / nq },
    ivfpqRecallAt10: found / (nq * K),
    latency,
  };
}
