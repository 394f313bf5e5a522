/**
 * Recall@k of approximate results against exact ground truth: the fraction
 * of the true top-k ids found in the returned top-k, averaged over queries
 * (the ANN-benchmarks definition).
 */
export function annRecallAtK(labels: BigInt64Array, groundTruth: Int32Array, gtDim: number, nq: number, k: number, resultK: number = k): number {
  if (k > gtDim) throw new RangeError(`ground truth has only ${gtDim} neighbours per query, k = ${k}`);
  let found = 0;
  for (let q = 0; q < nq; q++) {
    const truth = new Set<number>();
    for (let j = 0; j < k; j++) truth.add(groundTruth[q * gtDim + j]!);
    for (let j = 0; j < k; j++) if (truth.has(Number(labels[q * resultK + j]))) found += 1;
  }
  return found / (nq * k);
}

/**
 * One query's overlap of an approximate top k with the exact top k: the
 * fraction of the exact list's ids (at most k) found in the approximate
 * top k; 0 when the exact list is empty.
 */
export function topKOverlap<T>(approx: readonly T[], exact: readonly T[], k: number): number {
  const truth = new Set(exact.slice(0, k));
  return truth.size === 0 ? 0 : approx.slice(0, k).filter((id) => truth.has(id)).length / truth.size;
}
