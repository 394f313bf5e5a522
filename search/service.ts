import type { NatsConnection } from 'nats';
import { CancelledError, type Logger } from '../common/index.js';
import type { Registry } from 'prom-client';
import { SearchMetrics } from './metrics.js';
import type { HedgePolicy } from './hedging.js';
import type { EncoderSettings, TextEncoder } from '../encoder/index.js';
import type { Storage } from '../storage/index.js';
import { openIndexSet } from './index-set.js';
import { openSetEncoder } from './query-encoder.js';
import { reciprocalRankFusion } from './merge.js';
import { SearchRouter, type SearchResponse } from './router.js';
import { loadRouting } from './routing.js';
import { SearchRequestError } from './errors.js';
import type { EncoderThread } from './encoder-thread.js';
import { PROTOCOL_LIMITS, type ServingLayout } from './protocol.js';
import { PASSAGE_FIELDS, type PassageField } from '../shards/index.js';

/*
 * What the query API and `sci eval` call: text (or vector) queries against
 * one index set, through the router. Texts are encoded with the query tower
 * of the encoder that made the set's embeddings. `hybrid` fuses a dense
 * index with BM25 by reciprocal rank fusion.
 */

/** Hits of one request that may carry passage text: bounds the second phase's reads and reply sizes. */
export const MAX_HITS_WITH_FIELDS = 10_000;

export interface SearchLimits {
  maxK: number;
  maxQueries: number;
}

export interface SearchRequest {
  index: string;
  queries?: string[];
  /** Row-major query vectors (instead of texts) for dense indexes. */
  vectors?: Float32Array;
  k: number;
  nprobe?: number;
  efSearch?: number;
  deadlineMs?: number;
  /** Fuse with BM25: dense index `index` + bm25, with these weights. */
  hybrid?: { bm25Weight: number; denseWeight: number };
  /** Passage columns each hit should carry (read by the owning shard after the merge). */
  fields?: readonly PassageField[];
  /** Aborts when the caller goes away. */
  signal?: AbortSignal;
}

export class SearchService {
  private constructor(
    readonly router: SearchRouter,
    /** The query encoder in this thread (the hashed baseline, or a model where `encodeOnThread` is off). */
    private readonly encoder: TextEncoder | null,
    /** Or a model on a thread of its own (search/encoder-thread.ts). */
    private readonly thread: EncoderThread | null,
    private readonly closeEncoder: () => void,
    readonly limits: SearchLimits,
    private readonly metrics: SearchMetrics | null,
  ) {}

  static async open(options: {
    nc: NatsConnection;
    storage: Storage;
    indexSet: string;
    logger?: Logger;
    deadlineMs?: number;
    limits?: Partial<SearchLimits>;
    /** Where search series go (search/metrics.ts); none when absent. */
    metrics?: Registry;
    /** Hedged requests to a shard's replicas (search/hedging.ts); none when absent. */
    hedge?: HedgePolicy | null;
    /** What serves the set: its shards (default), its routed partitions (routed IVF) or its graph groups. */
    layout?: ServingLayout;
    /** A model encoder runs on a worker thread (a server: the event loop stays free); @defaultValue false */
    encodeOnThread?: boolean;
    /** Which engine, threads and provider open the query encoder (config workers.encoder). */
    encoderSettings?: EncoderSettings;
  }): Promise<SearchService> {
    const set = await openIndexSet(options.storage, options.indexSet);
    const layout = options.layout ?? 'shards';
    const serving = layout === 'routed' ? { layout, routing: await loadRouting(options.storage, set) } : { layout };
    const router = new SearchRouter(options.nc, set, options.deadlineMs ?? 2000, options.hedge ?? null, serving);
    let encoder: TextEncoder | null = null;
    let thread: EncoderThread | null = null;
    let close = () => {};
    if (set.manifest.embeddings)
      ({ encoder, thread, close } = await openSetEncoder(options.storage, set.manifest.embeddings, options.logger, {
        onThread: options.encodeOnThread ?? false,
        settings: options.encoderSettings,
      }));
    return new SearchService(
      router,
      encoder,
      thread,
      close,
      { maxK: options.limits?.maxK ?? 1000, maxQueries: options.limits?.maxQueries ?? 256 },
      options.metrics ? new SearchMetrics(options.metrics) : null,
    );
  }

  /** The query encoder's inference engine and execution provider (null: no dense set, or the hashed baseline). */
  get encoderEngine(): { name: string; provider: string | null } | null {
    if (this.thread) return this.thread.engine;
    const engine = this.encoder?.description['sci.encoder.engine'];
    return engine ? { name: engine, provider: this.encoder!.description['sci.encoder.provider'] ?? null } : null;
  }

  get dim(): number | null {
    return this.encoder?.dim ?? this.thread?.dim ?? null;
  }

  /** Encodes on the model's thread where there is one, else inline. */
  async encode(texts: readonly string[], view: 'query' | 'item'): Promise<Float32Array> {
    this.checkEncode(texts);
    return this.thread ? this.thread.encode(texts, view) : this.encoder!.encode(texts, view);
  }

  private checkEncode(texts: readonly string[]): void {
    if (this.dim === null) throw new SearchRequestError('this index set has no dense embeddings, so no encoder');
    if (texts.length > this.limits.maxQueries)
      throw new SearchRequestError(`at most ${this.limits.maxQueries} texts per request, got ${texts.length}`, { field: 'texts' });
  }

  async search(req: SearchRequest): Promise<SearchResponse> {
    const started = performance.now();
    const timing = { encodeMs: 0 };
    try {
      let response = await this.rank(req, timing);
      let passagesMs: number | undefined;
      if (req.fields && req.fields.length > 0) {
        const fetchStarted = performance.now();
        response = await this.router.withPassages(response, req.fields, {
          ...(req.deadlineMs ? { deadlineMs: req.deadlineMs } : {}),
          ...(req.signal ? { signal: req.signal } : {}),
        });
        passagesMs = performance.now() - fetchStarted;
      }
      this.metrics?.answered(req.index, response, {
        ...(timing.encodeMs > 0 ? { encode: timing.encodeMs } : {}),
        merge: response.mergeMs,
        ...(passagesMs !== undefined ? { passages: passagesMs } : {}),
        total: performance.now() - started,
      });
      return response;
    } catch (err) {
      const outcome = err instanceof SearchRequestError ? 'refused' : err instanceof CancelledError ? 'cancelled' : 'failed';
      // The label is an index the set has, never the caller's string: each new name would be a series for ever.
      this.metrics?.searches.inc({ index: this.router.names.includes(req.index) ? req.index : 'unknown', outcome });
      throw err;
    }
  }

  private async rank(req: SearchRequest, timing: { encodeMs: number }): Promise<SearchResponse> {
    if (!Number.isInteger(req.k) || req.k < 1 || req.k > this.limits.maxK)
      throw new SearchRequestError(`k must be an integer from 1 to ${this.limits.maxK}, got ${req.k}`, { field: 'k' });
    for (const [field, max] of [
      ['nprobe', PROTOCOL_LIMITS.maxNprobe],
      ['efSearch', PROTOCOL_LIMITS.maxEfSearch],
    ] as const) {
      const value = req[field];
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > max))
        throw new SearchRequestError(`${field} must be an integer from 1 to ${max}, got ${value}`, { field });
    }
    const count = req.queries?.length ?? (req.vectors && this.encoder ? req.vectors.length / this.encoder.dim : 0);
    if (count === 0) throw new SearchRequestError('give queries (texts) or vectors', { field: 'queries' });
    if (count > this.limits.maxQueries)
      throw new SearchRequestError(`at most ${this.limits.maxQueries} queries per request, got ${count}`, { field: 'queries' });
    if (req.fields && req.fields.length > 0 && count * req.k > MAX_HITS_WITH_FIELDS)
      throw new SearchRequestError(`fields: at most ${MAX_HITS_WITH_FIELDS} hits (queries × k) can carry passage text, asked for ${count * req.k}`, {
        field: 'fields',
      });
    const unknown = req.fields?.find((f) => !(PASSAGE_FIELDS as readonly string[]).includes(f));
    if (unknown !== undefined) throw new SearchRequestError(`fields: unknown field "${unknown}" (expected ${PASSAGE_FIELDS.join(', ')})`, { field: 'fields' });
    if (req.index === 'bm25') {
      if (!req.queries) throw new SearchRequestError('BM25 searches take query texts', { field: 'queries' });
      return this.router.bm25(req.queries, {
        k: req.k,
        ...(req.deadlineMs ? { deadlineMs: req.deadlineMs } : {}),
        ...(req.signal ? { signal: req.signal } : {}),
      });
    }
    const dim = this.dim;
    if (dim === null) throw new SearchRequestError(`index set has no dense index "${req.index}"`, { field: 'index' });
    if (req.hybrid && !req.queries) throw new SearchRequestError('hybrid search takes query texts', { field: 'queries' });
    const encodeStarted = performance.now();
    const vectors = req.vectors ?? (await this.encode(req.queries!, 'query'));
    timing.encodeMs = performance.now() - encodeStarted;
    const deadline = { ...(req.deadlineMs ? { deadlineMs: req.deadlineMs } : {}), ...(req.signal ? { signal: req.signal } : {}) };
    const denseSearch = this.router.dense(vectors, dim, {
      index: req.index,
      k: req.k,
      ...(req.nprobe ? { nprobe: req.nprobe } : {}),
      ...(req.efSearch ? { efSearch: req.efSearch } : {}),
      ...deadline,
    });
    if (!req.hybrid) return denseSearch;
    // Both fan-outs at once; fused by reciprocal rank.
    const [dense, lexical] = await Promise.all([denseSearch, this.router.bm25(req.queries!, { k: req.k, ...deadline })]);
    const missing = [...dense.missingShards, ...lexical.missingShards.filter((m) => !dense.missingShards.some((d) => d.shard === m.shard))];
    return {
      ...dense,
      hits: dense.hits.map((hits, q) =>
        reciprocalRankFusion(
          [
            { hits, weight: req.hybrid!.denseWeight },
            { hits: lexical.hits[q]!, weight: req.hybrid!.bm25Weight },
          ],
          req.k,
        ),
      ),
      partial: missing.length > 0,
      missingShards: missing,
      mergeMs: dense.mergeMs + lexical.mergeMs,
      ms: Math.max(dense.ms, lexical.ms),
    };
  }

  close(): void {
    this.closeEncoder();
  }
}
