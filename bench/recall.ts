import { readQueriesFile } from '../shards/index.js';
import { join } from 'node:path';

/*
 * What the ANN benches share: WordNet's dev query texts, the Recall@k of
 * per-part results merged into one top k, and a sweep's value at a recall
 * target (interpolated between the two sweep points around it).
 */

/** The first `limit` dev query texts of a passage set. */
export function devQueryTexts(passages: string, limit: number): string[] {
  return readQueriesFile(join(passages, 'queries.jsonl'))
    .filter((q) => q.split === 'dev')
    .slice(0, limit)
    .map((q) => q.text);
}

/** Recall@k of the parts' results (one Faiss result per shard, graph or group) merged by score (inner product), against exact top-k sets. */
export function mergedRecall(results: ReadonlyArray<{ labels: BigInt64Array; distances: Float32Array }>, exact: ReadonlyArray<Set<number>>, k: number): number {
  let found = 0;
  exact.forEach((truth, q) => {
    const merged = results
      .flatMap((r) => Array.from({ length: k }, (_, j) => ({ id: Number(r.labels[q * k + j]!), score: r.distances[q * k + j]! })))
      .filter((h) => h.id >= 0)
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
    found += merged.filter((h) => truth.has(h.id)).length;
  });
  return found / (exact.length * k);
}

/** `key` where the sweep first reaches `target` recall, interpolated between the points around it; null if it never does. */
export function valueAtRecall<P extends { recall: number }>(
  points: readonly P[],
  target: number,
  key: { [K in keyof P]: P[K] extends number ? K : never }[keyof P],
): number | null {
  const i = points.findIndex((p) => p.recall >= target);
  if (i < 0) return null;
  const value = (p: P) => p[key] as number;
  if (i === 0) return value(points[0]!);
  const [a, b] = [points[i - 1]!, points[i]!];
  return value(a) + ((target - a.recall) / (b.recall - a.recall)) * (value(b) - value(a));
}
