import type { FaissIndex, Metric } from '../faiss/index.js';
import type { Bm25Index, CorpusStats } from '../bm25/index.js';
import type { Hit } from '../search/index.js';

/*
 * One shard's candidates for every query: its top-K' by the source's score,
 * searched in batches (bounded memory: batch × K' entries at a time), plus
 * the score of each judged positive that lives in this shard (for rules that
 * compare a negative with its positive).
 */

/** A shard's hit, marked when its passage contains one of the query's answers (DPR's has_answer). */
export interface Candidate extends Hit {
  hasAnswer?: boolean;
}

export interface ShardCandidates {
  shard: number;
  higherIsBetter: boolean;
  /** Per query, in query order: best first. */
  lists: Candidate[][];
}

/** Queries per batch: the unit of search, of the candidates file's record batches and of the merge (bounded memory). */
export const QUERY_BATCH = 1024;

export interface CandidateBatch {
  /** First query of the batch. */
  start: number;
  /** Per query of the batch: best first. */
  lists: Candidate[][];
}

/** Dense candidates from a shard's Faiss index, a batch of queries at a time; `externalIdOf` names a row. */
export async function* denseCandidates(
  index: FaissIndex,
  queries: Float32Array,
  dim: number,
  k: number,
  shard: number,
  externalIdOf: (rowId: number) => string,
  options: { nprobe?: number; efSearch?: number; signal?: AbortSignal } = {},
): AsyncGenerator<CandidateBatch> {
  const nq = queries.length / dim;
  for (let start = 0; start < nq; start += QUERY_BATCH) {
    options.signal?.throwIfAborted();
    const count = Math.min(QUERY_BATCH, nq - start);
    const result = await index.search(queries.subarray(start * dim, (start + count) * dim), k, {
      ...(options.nprobe ? { nprobe: options.nprobe } : {}),
      ...(options.efSearch ? { efSearch: options.efSearch } : {}),
    });
    const lists: Candidate[][] = [];
    for (let q = 0; q < count; q++) {
      const list: Candidate[] = [];
      for (let j = 0; j < k; j++) {
        const label = result.labels[q * k + j]!;
        if (label < 0n) break;
        const rowId = Number(label);
        list.push({ rowId, externalId: externalIdOf(rowId), score: result.distances[q * k + j]!, shard });
      }
      lists.push(list);
    }
    yield { start, lists };
  }
}

/** BM25 candidates scored with corpus-wide statistics (so shard scores compare across shards), a batch at a time. */
export function* bm25Candidates(
  index: Bm25Index,
  queryTerms: readonly (readonly string[])[],
  k: number,
  stats: CorpusStats,
  shard: number,
  signal?: AbortSignal,
): Generator<CandidateBatch> {
  for (let start = 0; start < queryTerms.length; start += QUERY_BATCH) {
    signal?.throwIfAborted();
    const lists = queryTerms
      .slice(start, start + QUERY_BATCH)
      .map((terms) => index.searchTerms(terms, k, stats).map((h) => ({ rowId: h.rowId, externalId: h.externalId, score: h.score, shard })));
    yield { start, lists };
  }
}

/** A vector's score against a query under `metric`, as Faiss reports it (inner product, or squared L2). */
export function denseScore(query: Float32Array, vector: Float32Array, metric: Metric): number {
  let s = 0;
  for (let i = 0; i < query.length; i++) s += metric === 'ip' ? query[i]! * vector[i]! : (query[i]! - vector[i]!) ** 2;
  return s;
}
