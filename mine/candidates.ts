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

const QUERY_BATCH = 1024;

/** Dense candidates from a shard's Faiss index; `externalIdOf` names a row (the shard's embedding file holds them). */
export async function denseCandidates(
  index: FaissIndex,
  queries: Float32Array,
  dim: number,
  k: number,
  shard: number,
  externalIdOf: (rowId: number) => string,
  options: { nprobe?: number; efSearch?: number; signal?: AbortSignal } = {},
): Promise<ShardCandidates> {
  const nq = queries.length / dim;
  const lists: Hit[][] = [];
  for (let start = 0; start < nq; start += QUERY_BATCH) {
    options.signal?.throwIfAborted();
    const count = Math.min(QUERY_BATCH, nq - start);
    const result = await index.search(queries.subarray(start * dim, (start + count) * dim), k, {
      ...(options.nprobe ? { nprobe: options.nprobe } : {}),
      ...(options.efSearch ? { efSearch: options.efSearch } : {}),
    });
    for (let q = 0; q < count; q++) {
      const list: Hit[] = [];
      for (let j = 0; j < k; j++) {
        const label = result.labels[q * k + j]!;
        if (label < 0n) break;
        const rowId = Number(label);
        list.push({ rowId, externalId: externalIdOf(rowId), score: result.distances[q * k + j]!, shard });
      }
      lists.push(list);
    }
  }
  return { shard, higherIsBetter: index.info.metric === 'ip', lists };
}

/** BM25 candidates scored with corpus-wide statistics, so shard scores compare across shards. */
export function bm25Candidates(
  index: Bm25Index,
  queryTerms: readonly (readonly string[])[],
  k: number,
  stats: CorpusStats,
  shard: number,
  signal?: AbortSignal,
): ShardCandidates {
  const lists = queryTerms.map((terms, q) => {
    if (q % QUERY_BATCH === 0) signal?.throwIfAborted();
    return index.searchTerms(terms, k, stats).map((h) => ({ rowId: h.rowId, externalId: h.externalId, score: h.score, shard }));
  });
  return { shard, higherIsBetter: true, lists };
}

/** A vector's score against a query under `metric`, as Faiss reports it (inner product, or squared L2). */
export function denseScore(query: Float32Array, vector: Float32Array, metric: Metric): number {
  let s = 0;
  for (let i = 0; i < query.length; i++) s += metric === 'ip' ? query[i]! * vector[i]! : (query[i]! - vector[i]!) ** 2;
  return s;
}
