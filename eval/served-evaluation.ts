import { isGraphFactory, parseIvfFactory } from '../faiss/index.js';
import type { Hit, SearchService } from '../search/index.js';
import { topKOverlap } from './ann-recall.js';
import { evaluateRun, type Qrels } from './metrics.js';
import { percentile } from './percentile.js';

/*
 * Evaluation of an index set through scatter-gather, per index:
 *   quality    Recall@k (fraction of the relevant retrieved) and Success@k
 *              (any relevant in the top k), MRR@10, nDCG@10, from batched
 *              requests (their throughput is the batched QPS);
 *   latency    single-query text requests one after another (query encoding
 *              included, as an API caller sees it): p50 / p95 / p99 and that
 *              client's QPS; the batched passes encode every query once;
 *   inner work Faiss distance computations per query (ndis), HNSW nodes
 *              expanded, IVF lists scanned;
 *   build      time to build (sum over shards = CPU time; max = wall time
 *              with one worker per shard) and bytes of the index files;
 *   sweep      HNSW efSearch / IVF nprobe against Recall@10, latency and
 *              distance computations (and recall against Flat when present),
 *              on the first `sweepQueries` queries; its means are over those
 *              queries only (trec_eval's semantics, eval/metrics.ts).
 */

export interface QuerySample {
  ids: string[];
  texts: string[];
}

export interface LatencyFigures {
  queries: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  qps: number;
}

export interface SweepPoint {
  param: 'efSearch' | 'nprobe';
  value: number;
  /** Queries the point's means are over (the sweep sample's judged queries). */
  queries: number;
  'Recall@10': number;
  'Success@10': number;
  /** Overlap of the top 10 with Flat's (exact search), when a Flat index is in the set. */
  'annRecall@10': number | null;
  ndisPerQuery: number;
  p50Ms: number;
}

export interface IndexReport {
  index: string;
  factory: string;
  /** SCI consistent indexing: lists from the query view, stored vectors from the item view. */
  dualView: boolean;
  /** IVF: the nprobe a search without one uses (the index set's serving nprobe). */
  servingNprobe: number | null;
  metrics: Record<string, number>;
  batchedQps: number;
  latency: LatencyFigures;
  perQuery: { ndis: number; nhops: number; nlist: number; quantizerDis: number };
  partialAnswers: number;
  build: { cpuSeconds: number; wallSeconds: number; bytes: number } | null;
  sweep: SweepPoint[];
}

export interface EvaluationOptions {
  k: number;
  batchSize: number;
  latencyQueries: number;
  sweep: boolean;
  sweepQueries: number;
  deadlineMs?: number;
  onProgress?: (message: string) => void;
}

interface Pass {
  run: Map<string, string[]>;
  hits: Hit[][];
  counters: { ndis: number; nhops: number; nlist: number; quantizerDis: number };
  partial: number;
  seconds: number;
}

/** Query vectors of the set's query tower, encoded once for every batched pass (null without dense indexes). */
async function encodeOnce(service: SearchService, queries: QuerySample, batchSize: number): Promise<Float32Array | null> {
  const dim = service.dim;
  if (dim === null) return null;
  const out = new Float32Array(queries.texts.length * dim);
  for (let from = 0; from < queries.texts.length; from += batchSize)
    out.set(await service.encode(queries.texts.slice(from, from + batchSize), 'query'), from * dim);
  return out;
}

async function batchedPass(
  service: SearchService,
  index: string,
  queries: QuerySample,
  vectors: Float32Array | null,
  k: number,
  batchSize: number,
  params: { nprobe?: number; efSearch?: number },
  deadlineMs?: number,
): Promise<Pass> {
  const run = new Map<string, string[]>();
  const hits: Hit[][] = [];
  const counters = { ndis: 0, nhops: 0, nlist: 0, quantizerDis: 0 };
  let partial = 0;
  const started = performance.now();
  for (let from = 0; from < queries.ids.length; from += batchSize) {
    const texts = queries.texts.slice(from, from + batchSize);
    const input = index === 'bm25' || !vectors ? { queries: texts } : { vectors: vectors.subarray(from * service.dim!, (from + texts.length) * service.dim!) };
    const response = await service.search({ index, ...input, k, ...params, ...(deadlineMs ? { deadlineMs } : {}) });
    if (response.partial) partial += texts.length;
    for (const key of Object.keys(counters) as Array<keyof typeof counters>) counters[key] += response.counters[key];
    response.hits.forEach((list, i) => {
      run.set(
        queries.ids[from + i]!,
        list.map((h) => h.externalId),
      );
      hits.push(list);
    });
  }
  return { run, hits, counters, partial, seconds: (performance.now() - started) / 1000 };
}

async function latencyPass(
  service: SearchService,
  index: string,
  queries: QuerySample,
  count: number,
  k: number,
  params: { nprobe?: number; efSearch?: number },
  deadlineMs?: number,
): Promise<LatencyFigures> {
  const n = Math.min(count, queries.texts.length);
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await service.search({ index, queries: [queries.texts[i]!], k, ...params, ...(deadlineMs ? { deadlineMs } : {}) });
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  times.sort((a, b) => a - b);
  return { queries: n, p50Ms: percentile(times, 50), p95Ms: percentile(times, 95), p99Ms: percentile(times, 99), qps: n / Math.max(seconds, 1e-9) };
}

function sweepValues(factory: string): { param: 'efSearch' | 'nprobe'; values: number[] } | null {
  if (isGraphFactory(factory)) return { param: 'efSearch', values: [8, 16, 32, 64, 128, 256] };
  const ivf = parseIvfFactory(factory);
  if (ivf) {
    const nlist = ivf.nlist;
    const values: number[] = [];
    for (let p = 1; p <= nlist; p *= 2) values.push(p);
    if (values.at(-1) !== nlist) values.push(nlist);
    return { param: 'nprobe', values };
  }
  return null;
}

const overlap = (a: readonly Hit[], b: readonly Hit[], k: number) =>
  topKOverlap(
    a.map((h) => h.rowId),
    b.map((h) => h.rowId),
    k,
  );

/** The metrics and depths every evaluation reports for a run searched to depth k (a fused row uses the same). */
export function reportDepths(k: number) {
  return {
    ndcg: [10],
    mrr: [10],
    recall: [10, 100, k].filter((v, i, a) => a.indexOf(v) === i && v <= k),
    success: [10, 100].filter((v) => v <= k),
  };
}

export async function evaluateIndexes(
  service: SearchService,
  indexes: readonly string[],
  queries: QuerySample,
  qrels: Qrels,
  options: EvaluationOptions,
): Promise<{ reports: IndexReport[]; runs: Map<string, Map<string, Array<{ docId: string; score: number; rowId: number }>>> }> {
  const set = service.router.indexSet;
  const reports: IndexReport[] = [];
  const runs = new Map<string, Map<string, Array<{ docId: string; score: number; rowId: number }>>>();
  const sweepSample: QuerySample = { ids: queries.ids.slice(0, options.sweepQueries), texts: queries.texts.slice(0, options.sweepQueries) };
  const vectors = await encodeOnce(service, queries, options.batchSize);
  const sweepVectors = vectors && vectors.subarray(0, sweepSample.ids.length * service.dim!);
  const exact =
    set.names.includes('flat') && options.sweep
      ? await batchedPass(service, 'flat', sweepSample, sweepVectors, 10, options.batchSize, {}, options.deadlineMs)
      : null;
  for (const index of indexes) {
    options.onProgress?.(`${index}: quality`);
    const pass = await batchedPass(service, index, queries, vectors, options.k, options.batchSize, {}, options.deadlineMs);
    runs.set(index, new Map([...pass.run.keys()].map((id, i) => [id, pass.hits[i]!.map((h) => ({ docId: h.externalId, score: h.score, rowId: h.rowId }))])));
    const metrics = evaluateRun(pass.run, qrels, reportDepths(options.k));
    options.onProgress?.(`${index}: latency`);
    const latency = await latencyPass(service, index, queries, options.latencyQueries, 10, {}, options.deadlineMs);
    const spec = set.manifest.indexes.find((i) => i.name === index);
    const factory = spec?.factory ?? 'BM25';
    const role = index === 'bm25' ? 'bm25' : `faiss:${index}`;
    const files = set.manifest.shards.flatMap((s) => s.files.filter((f) => f.role === role).map((f) => ({ shard: s.id, ...f })));
    const perShardMs = new Map<number, number>();
    for (const f of files) if (f.buildMs !== undefined) perShardMs.set(f.shard, f.buildMs);
    const build =
      files.length > 0
        ? {
            cpuSeconds: [...perShardMs.values()].reduce((a, b) => a + b, 0) / 1000,
            wallSeconds: Math.max(0, ...perShardMs.values()) / 1000,
            bytes: files.reduce((s, f) => s + f.bytes, 0),
          }
        : null;
    const sweep: SweepPoint[] = [];
    const grid = options.sweep && index !== 'bm25' ? sweepValues(factory) : null;
    for (const value of grid?.values ?? []) {
      options.onProgress?.(`${index}: ${grid!.param} ${value}`);
      const params = { [grid!.param]: value };
      const point = await batchedPass(service, index, sweepSample, sweepVectors, 10, options.batchSize, params, options.deadlineMs);
      const m = evaluateRun(point.run, qrels, { recall: [10], success: [10], ndcg: [], mrr: [] });
      const timing = await latencyPass(service, index, sweepSample, Math.min(100, options.latencyQueries), 10, params, options.deadlineMs);
      sweep.push({
        param: grid!.param,
        value,
        queries: m.queries,
        'Recall@10': m['Recall@10']!,
        'Success@10': m['Success@10']!,
        'annRecall@10': exact ? point.hits.reduce((s, h, i) => s + overlap(h, exact.hits[i]!, 10), 0) / Math.max(1, point.hits.length) : null,
        ndisPerQuery: point.counters.ndis / Math.max(1, sweepSample.ids.length),
        p50Ms: timing.p50Ms,
      });
    }
    const nq = Math.max(1, queries.ids.length);
    reports.push({
      index,
      factory,
      dualView: spec?.dualView === true,
      servingNprobe: spec?.nprobe ?? null,
      metrics,
      batchedQps: queries.ids.length / Math.max(pass.seconds, 1e-9),
      latency,
      perQuery: {
        ndis: pass.counters.ndis / nq,
        nhops: pass.counters.nhops / nq,
        nlist: pass.counters.nlist / nq,
        quantizerDis: pass.counters.quantizerDis / nq,
      },
      partialAnswers: pass.partial,
      build,
      sweep,
    });
  }
  return { reports, runs };
}
