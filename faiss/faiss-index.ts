import { renameSync, rmSync } from 'node:fs';
import { loadAddon, type AssignedLists, type Metric, type NativeIndex, type NativeIndexInfo } from './native.js';
import { resolveFactory } from './factory.js';
import { FaissInvalidArgumentError, fromNative, native } from './errors.js';
import { tempPathFor } from '../common/index.js';

export interface CreateIndexOptions {
  dim: number;
  /** Factory string: Flat, IVF{n},Flat, IVF{n},PQ{m}, HNSW{M},Flat, PQ{m}, LSH[{nbits}]. */
  factory: string;
  metric: Metric;
}

/** Per-call search parameters; unset = the index's own setting. */
export interface SearchParams {
  nprobe?: number;
  efSearch?: number;
}

export interface SearchCounters {
  /** Distances computed over all queries (vectors or codes compared). */
  ndis: number;
  /** HNSW: nodes expanded. */
  nhops: number;
  /** IVF: lists scanned. */
  nlist: number;
  /** IVF: distances to coarse centroids. */
  quantizerDis: number;
}

export interface SearchResult {
  nq: number;
  k: number;
  /** Row-major nq × k; faiss's values: inner products for ip, squared L2 for l2. */
  distances: Float32Array;
  /** Row-major nq × k global ids; -1 where the index holds fewer than k. */
  labels: BigInt64Array;
  counters: SearchCounters;
  /** Wall time of the native search itself (the rest of a call's time is waiting for a pool thread and copying). */
  workMs: number;
  /** True for ip (larger is closer). */
  higherIsBetter: boolean;
}

/**
 * One Faiss index behind the addon. Long calls run off the event loop; all
 * native failures become typed errors (FaissInvalidArgumentError, …).
 * Searches may run concurrently with different parameters.
 */
/** What one search may ask for; the addon enforces the same numbers (native_index.h). */
export const SEARCH_LIMITS = { maxK: 100_000, maxEfSearch: 1 << 14, maxNprobe: 1 << 16 } as const;

export class FaissIndex {
  private readonly native: NativeIndex;
  private readonly higherIsBetter: boolean;

  private constructor(nativeIndex: NativeIndex) {
    this.native = nativeIndex;
    this.higherIsBetter = nativeIndex.info().metric === 'ip';
  }

  static create(options: CreateIndexOptions): FaissIndex {
    if (!Number.isInteger(options.dim) || options.dim <= 0)
      throw new FaissInvalidArgumentError(`dimension must be a positive integer, got ${options.dim}`, { field: 'dim' });
    const resolved = resolveFactory(options.factory, options.metric, options.dim);
    try {
      return new FaissIndex(loadAddon().NativeIndex.factory(options.dim, resolved.description, options.metric));
    } catch (err) {
      throw fromNative(err, { field: 'factory' });
    }
  }

  /** Wraps an index built by the addon's lower-level constructors (dual-view IVF). */
  static fromNative(nativeIndex: NativeIndex): FaissIndex {
    return new FaissIndex(nativeIndex);
  }

  static async load(path: string): Promise<FaissIndex> {
    return new FaissIndex(await native(() => loadAddon().NativeIndex.readFile(path), { file: path }));
  }

  static fromBuffer(buffer: Uint8Array): FaissIndex {
    try {
      return new FaissIndex(loadAddon().NativeIndex.fromBuffer(buffer));
    } catch (err) {
      throw fromNative(err);
    }
  }

  get info(): NativeIndexInfo {
    return this.native.info();
  }

  /** Bytes the index holds (its serialized size); costs one serialization. */
  memoryBytes(): number {
    try {
      return this.native.memoryBytes();
    } catch (err) {
      throw fromNative(err);
    }
  }

  get dim(): number {
    return this.native.info().d;
  }

  get size(): number {
    return this.native.info().ntotal;
  }

  /** The low-level handle, for dual-view building in this folder. */
  get handle(): NativeIndex {
    return this.native;
  }

  async train(vectors: Float32Array, options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted();
    await native(() => this.native.train(vectors));
  }

  /** Adds vectors with their global ids (ids default to 0..n-1 after the current size). */
  async add(vectors: Float32Array, ids: BigInt64Array | null = null, options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted();
    let explicit = ids;
    if (explicit === null) {
      // IDMap indexes take ids only; number new rows after the current ones.
      const { ntotal, d } = this.native.info();
      const n = Math.floor(vectors.length / d);
      explicit = new BigInt64Array(n);
      for (let i = 0; i < n; i++) explicit[i] = BigInt(ntotal + i);
    }
    await native(() => this.native.add(vectors, explicit));
  }

  /**
   * `timeoutMs` bounds the native work (it stops between batches of graph
   * steps or inverted lists and rejects with a CancelledError); `signal`
   * stops it the same way, from any thread.
   */
  async search(queries: Float32Array, k: number, params: SearchParams = {}, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<SearchResult> {
    return this.runSearch(queries, k, params, null, options);
  }

  /**
   * IVF search on lists chosen elsewhere (routed search: the router assigned the queries against the
   * shared centroids, see `assign`): scans exactly `assigned.lists` (n × p, -1 = none) with the same
   * code as `search`, so a list scanned here gives what it gives there.
   */
  async searchLists(
    queries: Float32Array,
    k: number,
    assigned: AssignedLists,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<SearchResult> {
    return this.runSearch(queries, k, {}, assigned, options);
  }

  /** IVF: each query's `nprobe` nearest lists by the coarse quantizer, nearest first, with their centroid distances. */
  async assign(queries: Float32Array, nprobe: number): Promise<AssignedLists> {
    if (!Number.isInteger(nprobe) || nprobe <= 0 || nprobe > SEARCH_LIMITS.maxNprobe)
      throw new FaissInvalidArgumentError(`nprobe must be an integer from 1 to ${SEARCH_LIMITS.maxNprobe}, got ${nprobe}`, { field: 'nprobe' });
    return native(() => this.native.assign(queries, nprobe));
  }

  /** IVF: entries in each inverted list. */
  listSizes(): Float64Array {
    try {
      return this.native.listSizes();
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** IVF: appends `source`'s entries (ids and codes) of `lists` to the same lists here; both built on one trained quantizer. */
  async copyListsFrom(source: FaissIndex, lists: BigInt64Array): Promise<void> {
    await native(() => this.native.copyListsFrom(source.native, lists));
  }

  /** IVF: the ids stored in `lists`, list after list. */
  listIds(lists: BigInt64Array): BigInt64Array {
    try {
      return this.native.listIds(lists);
    } catch (err) {
      throw fromNative(err);
    }
  }

  private async runSearch(
    queries: Float32Array,
    k: number,
    params: SearchParams,
    assigned: AssignedLists | null,
    options: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<SearchResult> {
    if (!Number.isInteger(k) || k <= 0 || k > SEARCH_LIMITS.maxK)
      throw new FaissInvalidArgumentError(`k must be an integer from 1 to ${SEARCH_LIMITS.maxK}, got ${k}`, { field: 'k' });
    for (const [name, value] of Object.entries(params) as Array<[keyof SearchParams, number | undefined]>) {
      const max = name === 'nprobe' ? SEARCH_LIMITS.maxNprobe : SEARCH_LIMITS.maxEfSearch;
      if (value !== undefined && (!Number.isInteger(value) || value <= 0 || value > max))
        throw new FaissInvalidArgumentError(`${name} must be an integer from 1 to ${max}, got ${value}`, { field: name });
    }
    options.signal?.throwIfAborted();
    const stopFlag = options.signal ? new Int32Array(new SharedArrayBuffer(4)) : null;
    const raise = () => Atomics.store(stopFlag!, 0, 1);
    options.signal?.addEventListener('abort', raise, { once: true });
    let result;
    try {
      result = await native(() => this.native.search(queries, k, params.nprobe ?? 0, params.efSearch ?? 0, options.timeoutMs ?? 0, stopFlag, assigned));
    } finally {
      options.signal?.removeEventListener('abort', raise);
    }
    options.signal?.throwIfAborted();
    const { workMs, ...counters } = result.stats;
    return {
      nq: result.labels.length / k,
      k,
      distances: result.distances,
      labels: result.labels,
      counters,
      workMs,
      higherIsBetter: this.higherIsBetter,
    };
  }

  /** The efSearch stored in the index and used when a search passes none. */
  setDefaultEfSearch(ef: number): void {
    try {
      this.native.setDefaultEfSearch(ef);
    } catch (err) {
      throw fromNative(err);
    }
  }

  /** Writes faiss's own format (readable by python faiss) through a temp name and rename. */
  async save(path: string): Promise<void> {
    const temp = tempPathFor(path);
    try {
      await native(() => this.native.writeFile(temp), { file: path });
      renameSync(temp, path);
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    }
  }

  toBuffer(): Buffer {
    return this.native.toBuffer();
  }
}

/** Threads one faiss call may use (OpenMP); applies to every later call. */
export function setFaissThreads(n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new FaissInvalidArgumentError(`threads must be a positive integer, got ${n}`);
  loadAddon().setThreads(n);
}

export function getFaissThreads(): number {
  return loadAddon().getThreads();
}
