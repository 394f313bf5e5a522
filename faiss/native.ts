import { createRequire } from 'node:module';

/*
 * The only module that loads the compiled addon (faiss/native, a workspace
 * package built by `npm ci`). Every export of the addon is declared here;
 * optional values are `T | null`, never optional properties.
 */

export type Metric = 'ip' | 'l2';
export type IndexKind = 'flat' | 'ivf' | 'ivfpq' | 'hnsw' | 'pq' | 'lsh' | 'other';

export interface NativeSearchStats {
  /** Distances computed (vectors or codes compared), all queries together. */
  ndis: number;
  /** HNSW: graph nodes expanded (greedy moves on upper levels + level-0 expansions). */
  nhops: number;
  /** IVF: inverted lists scanned. */
  nlist: number;
  /** IVF: distances to coarse centroids. */
  quantizerDis: number;
  /** Wall time of the search itself, from a pool thread taking it to its end (not its wait in the pool's queue). */
  workMs: number;
}

export interface NativeSearchResult {
  distances: Float32Array;
  labels: BigInt64Array;
  stats: NativeSearchStats;
}

/** Inverted lists per query (row-major n × p; -1 = none) and the query's distance to each list's centroid. */
export interface AssignedLists {
  lists: BigInt64Array;
  coarse: Float32Array;
}

export interface NativeIndexInfo {
  d: number;
  ntotal: number;
  isTrained: boolean;
  metric: Metric | 'other';
  kind: IndexKind;
  hasIdMap: boolean;
  nlist?: number;
  nprobe?: number;
  efSearch?: number;
  efConstruction?: number;
  maxLevel?: number;
}

export interface NativeIndex {
  info(): NativeIndexInfo;
  /** Serialized size in bytes (faiss's format, what the index holds in memory); serializes the index. */
  memoryBytes(): number;
  train(x: Float32Array): Promise<void>;
  add(x: Float32Array, ids: BigInt64Array | null): Promise<void>;
  addPreassigned(x: Float32Array, ids: BigInt64Array, lists: BigInt64Array): Promise<void>;
  trainPreassigned(x: Float32Array, lists: BigInt64Array): Promise<void>;
  /**
   * nprobe / efSearch 0 = the index's own setting; timeoutMs 0 = no deadline;
   * stopFlag: element 0 set to non-zero (Atomics.store) stops the search.
   * Stopped searches reject with [DEADLINE_EXCEEDED] or [CANCELLED].
   */
  search(
    x: Float32Array,
    k: number,
    nprobe: number,
    efSearch: number,
    timeoutMs: number,
    stopFlag: Int32Array | null,
    /** IVF: scan these lists (n × p, -1 = none) instead of the quantizer's; coarse = each list's centroid distance. */
    preassigned?: AssignedLists | null,
  ): Promise<NativeSearchResult>;
  /** IVF: the nprobe lists nearest each query by the coarse quantizer (n × nprobe, nearest first). */
  assign(x: Float32Array, nprobe: number): Promise<AssignedLists>;
  /** IVF: entries in each inverted list. */
  listSizes(): Float64Array;
  /** IVF: appends `source`'s entries of `lists` to the same lists here (same kind, nlist and code size). */
  copyListsFrom(source: NativeIndex, lists: BigInt64Array): Promise<void>;
  /** IVF: the ids stored in `lists`, list after list. */
  listIds(lists: BigInt64Array): BigInt64Array;
  writeFile(path: string): Promise<void>;
  toBuffer(): Buffer;
  setDefaultEfSearch(ef: number): void;
}

export interface NativeIndexStatic {
  factory(d: number, description: string, metric: Metric): NativeIndex;
  createIvf(d: number, metric: Metric, centroids: Float32Array, pqM: number, pqNbits: number): NativeIndex;
  readFile(path: string): Promise<NativeIndex>;
  fromBuffer(buffer: Uint8Array): NativeIndex;
}

export interface KmeansNativeOptions {
  niter: number;
  seed: number;
  spherical: boolean;
  metric: Metric;
  maxPointsPerCentroid: number;
}

export interface FaissAddon {
  NativeIndex: NativeIndexStatic;
  kmeans(x: Float32Array, d: number, k: number, options: KmeansNativeOptions): Promise<{ centroids: Float32Array; objective: number }>;
  setThreads(n: number): void;
  getThreads(): number;
  faissVersion: string;
}

let addon: FaissAddon | null = null;

/** Loads the addon once per thread (worker threads load their own copy). */
export function loadAddon(): FaissAddon {
  if (addon === null) {
    const require = createRequire(import.meta.url);
    addon = require('@sci-cluster/faiss-native') as FaissAddon;
  }
  return addon;
}
