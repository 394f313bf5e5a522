import { loadAddon, type Metric } from './native.js';
import { FaissInvalidArgumentError, native } from './errors.js';

export interface KmeansOptions {
  /** @defaultValue 20 */
  niter?: number;
  /** @defaultValue 1234 */
  seed?: number;
  /** Normalise centroids after each iteration (for cosine / ip). @defaultValue false */
  spherical?: boolean;
  /** Assignment metric. @defaultValue 'l2' */
  metric?: Metric;
  /** Subsample to k × this many points, as faiss does. @defaultValue 256 */
  maxPointsPerCentroid?: number;
}

/** Faiss `Clustering` k-means: returns k × dim centroids and the final objective. */
export async function kmeans(
  vectors: Float32Array,
  dim: number,
  k: number,
  options: KmeansOptions = {},
): Promise<{ centroids: Float32Array; objective: number }> {
  if (!Number.isInteger(k) || k <= 0) throw new FaissInvalidArgumentError(`k must be a positive integer, got ${k}`);
  return native(() =>
    loadAddon().kmeans(vectors, dim, k, {
      niter: options.niter ?? 20,
      seed: options.seed ?? 1234,
      spherical: options.spherical ?? false,
      metric: options.metric ?? 'l2',
      maxPointsPerCentroid: options.maxPointsPerCentroid ?? 256,
    }),
  );
}
