import { z } from 'zod';
import { mixSeed, seededRandom } from '../common/index.js';
import { topKOverlap } from '../eval/index.js';
import { exactTopK } from './exact-knn.js';
import type { FaissIndex } from './faiss-index.js';
import type { Metric } from './native.js';

/*
 * The serving nprobe of an IVF index: the smallest nprobe whose top k
 * overlaps exact search by at least a target (0.9 by default), measured on a
 * seeded sample of the corpus's own passages used as queries — in the query
 * view where the embeddings have one (what the query tower makes of the
 * passage), else the stored view. Each sampled passage is held out of both
 * lists (it would otherwise find itself), so the figure is about neighbours.
 * Each shard measures a curve over nprobe = 1, 2, 4, …, nlist; the index
 * job's manifest step pools the shards' curves and picks one nprobe for all
 * (relative to the index's own ceiling where its codes cap the overlap).
 */

/** A shard's overlap-vs-nprobe curve (the file an index task writes and the job's manifest step reads back). */
export const NprobeCurveSchema = z.strictObject({
  /** Sampled queries measured on this shard. */
  queries: z.number().int().nonnegative(),
  k: z.number().int().positive(),
  points: z.array(z.strictObject({ nprobe: z.number().int().positive(), overlap: z.number().min(0).max(1) })).max(64),
});
export type NprobeCurve = z.infer<typeof NprobeCurveSchema>;

export interface NprobeTuningOptions {
  /** Target overlap with exact search. @defaultValue 0.9 */
  overlap: number;
  /** Sampled passages per shard. @defaultValue 256 */
  queriesPerShard: number;
  /** Depth of the overlap. @defaultValue 10 */
  k: number;
  seed: number;
}

export function nprobeGrid(nlist: number): number[] {
  const values: number[] = [];
  for (let p = 1; p < nlist; p *= 2) values.push(p);
  values.push(nlist);
  return values;
}

/** The shard's overlap-vs-nprobe curve (`stored` is what the index holds, `queryView` the same rows in the query view). */
export async function measureNprobeCurve(
  index: FaissIndex,
  stored: { data: Float32Array; ids: BigInt64Array; dim: number },
  queryView: Float32Array,
  metric: Metric,
  options: Pick<NprobeTuningOptions, 'queriesPerShard' | 'k' | 'seed'> & { shardId: number },
): Promise<NprobeCurve> {
  const { dim, ids } = stored;
  const n = ids.length;
  const nlist = index.info.nlist;
  if (nlist === undefined) throw new Error('measureNprobeCurve needs an IVF index');
  const random = seededRandom(mixSeed(options.seed, options.shardId));
  const picked = new Set<number>();
  const want = Math.min(options.queriesPerShard, n);
  while (picked.size < want) picked.add(Math.floor(random() * n));
  const rows = [...picked].sort((a, b) => a - b);
  const queries = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => queries.set(queryView.subarray(row * dim, (row + 1) * dim), i * dim));
  const k = options.k;
  const depth = Math.min(k + 1, n);
  // One more than k, so that k remain once the passage itself is held out.
  const heldOut = (labels: BigInt64Array, q: number) => {
    const list: bigint[] = [];
    for (let j = 0; j < depth; j++) {
      const id = labels[q * depth + j]!;
      if (id >= 0n && id !== ids[rows[q]!]) list.push(id);
    }
    return list.slice(0, k);
  };
  const exact = await exactTopK(stored.data, ids, dim, queries, depth, metric);
  const points: NprobeCurve['points'] = [];
  for (const nprobe of nprobeGrid(nlist)) {
    const result = await index.search(queries, depth, { nprobe });
    let sum = 0;
    for (let q = 0; q < rows.length; q++) sum += topKOverlap(heldOut(result.labels, q), heldOut(exact, q), k);
    points.push({ nprobe, overlap: sum / rows.length });
  }
  return { queries: rows.length, k, points };
}

/**
 * Pools the shards' curves (weighted by their queries) and picks the smallest
 * nprobe reaching `target`. Codes that cap the overlap below the target
 * (IVF-PQ: even every list scanned is not exact search) get the target
 * relative to that cap — the smallest nprobe reaching `target` × the overlap
 * at nprobe = nlist — instead of a full scan that buys nothing.
 */
export function chooseServingNprobe(
  curves: readonly NprobeCurve[],
  target: number,
): { nprobe: number; points: NprobeCurve['points']; queries: number; reached: number } {
  const queries = curves.reduce((s, c) => s + c.queries, 0);
  const nprobes = [...new Set(curves.flatMap((c) => c.points.map((p) => p.nprobe)))].sort((a, b) => a - b);
  const points = nprobes.map((nprobe) => {
    let sum = 0;
    let weight = 0;
    for (const c of curves) {
      // A shard with fewer lists measured up to its nlist: beyond that it scans everything (its last point).
      const p = c.points.find((x) => x.nprobe === nprobe) ?? c.points.at(-1)!;
      sum += p.overlap * c.queries;
      weight += c.queries;
    }
    return { nprobe, overlap: weight === 0 ? 0 : sum / weight };
  });
  const cap = points.at(-1)?.overlap ?? 0;
  const wanted = cap >= target ? target : target * cap;
  const chosen = points.find((p) => p.overlap >= wanted) ?? points.at(-1);
  return { nprobe: chosen?.nprobe ?? 1, points, queries, reached: chosen?.overlap ?? 0 };
}
