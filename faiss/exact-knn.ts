import { FaissIndex } from './faiss-index.js';
import type { Metric } from './native.js';

/**
 * Exact top k of `queries` among `data` (n × dim), as global `ids`: brute
 * force through Faiss Flat over chunks of `chunkRows` rows, so the extra
 * memory is one chunk, not a second copy of the data. Row-major nq × k
 * labels; -1 where fewer than k rows exist.
 */
export async function exactTopK(
  data: Float32Array,
  ids: BigInt64Array,
  dim: number,
  queries: Float32Array,
  k: number,
  metric: Metric,
  chunkRows = 65_536,
): Promise<BigInt64Array> {
  const n = ids.length;
  const nq = queries.length / dim;
  const higherIsBetter = metric === 'ip';
  const best: Array<Array<{ id: bigint; score: number }>> = Array.from({ length: nq }, () => []);
  for (let from = 0; from < n; from += chunkRows) {
    const to = Math.min(n, from + chunkRows);
    const flat = FaissIndex.create({ dim, factory: 'Flat', metric });
    await flat.add(data.subarray(from * dim, to * dim), ids.subarray(from, to));
    const kk = Math.min(k, to - from);
    const result = await flat.search(queries, kk);
    for (let q = 0; q < nq; q++) {
      const list = best[q]!;
      for (let j = 0; j < kk; j++) list.push({ id: result.labels[q * kk + j]!, score: result.distances[q * kk + j]! });
      // Ties keep the smaller id, as one Faiss index over all rows does.
      list.sort((a, b) => (a.score !== b.score ? (higherIsBetter ? b.score - a.score : a.score - b.score) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      list.length = Math.min(list.length, k);
    }
  }
  const labels = new BigInt64Array(nq * k).fill(-1n);
  best.forEach((list, q) => list.forEach((hit, j) => (labels[q * k + j] = hit.id)));
  return labels;
}
