import { loadAddon, type Metric } from './native.js';
import { FaissIndex } from './faiss-index.js';
import { kmeans, type KmeansOptions } from './kmeans.js';
import { FaissInvalidArgumentError, fromNative, native } from './errors.js';

/*
 * SCI consistent indexing (SCI-SPEC §1.4): coarse centroids are k-means on
 * one view of the items (the query tower's f_q(I), optionally with training
 * queries f_q(Q)), each item is assigned to the list of its nearest centroid
 * in that view, while the stored vectors (IVF-Flat) or residual PQ codes
 * (IVF-PQ) come from the other view (the item tower's f_i(I)). Queries probe
 * lists by S(q, centroid) and are scored against the stored view: exactly
 * what an IVF index stores, so no extra storage or search cost.
 */

export interface DualViewIvfOptions {
  dim: number;
  metric: Metric;
  nlist: number;
  /** View used for centroids and list assignment (n × dim). */
  assignView: Float32Array;
  /** View stored in the lists (n × dim). */
  storedView: Float32Array;
  /** Global ids of the n items. */
  ids: BigInt64Array;
  /** Extra vectors for centroid training only (e.g. f_q of training queries). */
  extraTraining?: Float32Array | null;
  /** IVF-PQ codes instead of full vectors. */
  pq?: { m: number; nbits?: number } | null;
  /** Coarse centroids trained elsewhere (a shared quantizer, nlist × dim): no k-means here. */
  centroids?: Float32Array | null;
  /** Defaults to faiss's own IVF training: spherical k-means for ip, 10 iterations, seed 1234, at most 256 points per centroid. */
  kmeans?: KmeansOptions;
}

export interface DualViewIvf {
  index: FaissIndex;
  centroids: Float32Array;
  /** List of every item, by its position in the inputs. */
  lists: BigInt64Array;
}

export async function buildDualViewIvf(options: DualViewIvfOptions): Promise<DualViewIvf> {
  const { dim, metric, nlist } = options;
  const n = options.assignView.length / dim;
  if (!Number.isInteger(n) || options.storedView.length !== options.assignView.length) {
    throw new FaissInvalidArgumentError(`the two views must both be n × ${dim}: got ${options.assignView.length} and ${options.storedView.length} values`);
  }
  if (options.ids.length !== n) throw new FaissInvalidArgumentError(`${options.ids.length} ids for ${n} items`);
  let training = options.assignView;
  if (options.extraTraining && options.extraTraining.length > 0) {
    training = new Float32Array(options.assignView.length + options.extraTraining.length);
    training.set(options.assignView);
    training.set(options.extraTraining, options.assignView.length);
  }
  if (options.centroids && options.centroids.length !== nlist * dim)
    throw new FaissInvalidArgumentError(`${options.centroids.length / dim} centroids given for nlist ${nlist}`, { field: 'centroids' });
  const centroids = options.centroids ?? (await coarseCentroids(training, dim, nlist, metric, options.kmeans));
  const lists = await assignLists(options.assignView, centroids, dim, metric);
  const handle = createIvf(dim, metric, centroids, options.pq);
  if (options.pq) await native(() => handle.trainPreassigned(options.storedView, lists));
  await native(() => handle.addPreassigned(options.storedView, options.ids, lists));
  return { index: FaissIndex.fromNative(handle), centroids, lists };
}

/** faiss's own IVF training of the coarse centroids: spherical k-means for ip, 10 iterations, seed 1234, at most 256 points per centroid. */
async function coarseCentroids(training: Float32Array, dim: number, nlist: number, metric: Metric, overrides?: KmeansOptions): Promise<Float32Array> {
  return (await kmeans(training, dim, nlist, { metric, spherical: metric === 'ip', niter: 10, seed: 1234, maxPointsPerCentroid: 256, ...overrides })).centroids;
}

function createIvf(dim: number, metric: Metric, centroids: Float32Array, pq: DualViewIvfOptions['pq']) {
  try {
    return loadAddon().NativeIndex.createIvf(dim, metric, centroids, pq?.m ?? 0, pq?.nbits ?? 8);
  } catch (err) {
    throw fromNative(err);
  }
}

/**
 * A trained, empty dual-view IVF(-PQ) from a sample of the whole set (a shared
 * quantizer): coarse centroids by k-means on the sample's assign view, PQ
 * codebooks on its stored view's residuals to them. Each shard then fills it
 * with addDualView.
 */
export async function trainDualViewIvf(
  options: Omit<DualViewIvfOptions, 'ids' | 'centroids' | 'extraTraining'>,
): Promise<{ index: FaissIndex; centroids: Float32Array }> {
  const { dim, metric, nlist } = options;
  if (options.storedView.length !== options.assignView.length)
    throw new FaissInvalidArgumentError(`the two views must both be n × ${dim}: got ${options.assignView.length} and ${options.storedView.length} values`);
  const centroids = await coarseCentroids(options.assignView, dim, nlist, metric, options.kmeans);
  const handle = createIvf(dim, metric, centroids, options.pq);
  if (options.pq) await native(async () => handle.trainPreassigned(options.storedView, await assignLists(options.assignView, centroids, dim, metric)));
  return { index: FaissIndex.fromNative(handle), centroids };
}

/** Fills a trained dual-view IVF (trainDualViewIvf's, read back): each item in the list of its nearest centroid in the assign view, stored from the stored view. */
export async function addDualView(
  index: FaissIndex,
  options: { centroids: Float32Array; metric: Metric; assignView: Float32Array; storedView: Float32Array; ids: BigInt64Array },
): Promise<void> {
  const dim = index.dim;
  if (options.centroids.length !== (index.info.nlist ?? 0) * dim)
    throw new FaissInvalidArgumentError(`${options.centroids.length / dim} centroids for an index with ${index.info.nlist} lists`, { field: 'centroids' });
  const lists = await assignLists(options.assignView, options.centroids, dim, options.metric);
  await native(() => index.handle.addPreassigned(options.storedView, options.ids, lists));
}

/** Nearest centroid of every row (exact, through a Flat index over the centroids). */
export async function assignLists(vectors: Float32Array, centroids: Float32Array, dim: number, metric: Metric): Promise<BigInt64Array> {
  const coarse = FaissIndex.create({ dim, factory: 'Flat', metric });
  await coarse.add(centroids);
  const { labels } = await coarse.search(vectors, 1);
  return labels;
}
