import assert from 'node:assert/strict';

/*
 * Comparing a merged top-k with a reference index's, as the exactness tests
 * do: the same scores rank by rank (within eps: BLAS sums in another order
 * over a bigger matrix), and the same ids except where (near-)equal scores
 * were ordered differently.
 */

export const TOPK_EPS = 1e-5;

/** Asserts `hits` equals the reference's top-k; returns whether tied scores were ordered differently. */
export function assertSameTopK(
  hits: ReadonlyArray<{ rowId: number; score: number }>,
  reference: { ids: number[]; scores: number[] },
  what: string,
  eps = TOPK_EPS,
): boolean {
  const k = reference.ids.length;
  assert.equal(hits.length, k, `${what}: ${hits.length} hits, reference ${k}`);
  hits.forEach((hit, r) => assert.ok(Math.abs(hit.score - reference.scores[r]!) <= eps, `${what} rank ${r}: score ${hit.score} vs ${reference.scores[r]}`));
  const ids = hits.map((h) => h.rowId);
  if (ids.join() === reference.ids.join()) return false;
  // Allowed only among (near-)equal scores: every id scoring clearly above the k-th is in both lists.
  const kth = reference.scores[k - 1]!;
  const clear = (list: number[], scores: number[]) => list.filter((_, i) => scores[i]! > kth + eps).sort((a, b) => a - b);
  assert.deepEqual(
    clear(
      ids,
      hits.map((h) => h.score),
    ),
    clear(reference.ids, reference.scores),
    what,
  );
  return true;
}

/** Query q's top-k of a batched Faiss search result. */
export function referenceOf(result: { labels: BigInt64Array; distances: Float32Array }, q: number, k: number): { ids: number[]; scores: number[] } {
  return { ids: Array.from(result.labels.subarray(q * k, q * k + k), Number), scores: Array.from(result.distances.subarray(q * k, q * k + k)) };
}
