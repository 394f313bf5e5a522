import type { NatsConnection } from 'nats';
import { EnglishAnalyzer } from '../bm25/index.js';
import type { z } from 'zod';
import {
  decodeFrame,
  encodeRequest,
  hedgeSubject,
  indexSetId,
  parseReply,
  servingSubject,
  ShardSearchHeaderSchema,
  ShardStatsHeaderSchema,
  ShardPassagesHeaderSchema,
  PROTOCOL_LIMITS,
  viewBigInt64,
  viewFloat32,
  type Bm25SearchRequest,
  type SearchCountersWire,
  type ShardErrorHeader,
  type ShardRequestBody,
  type ShardSearchHeader,
  type ShardStatsHeader,
  type ShardPassagesHeader,
  type ServingLayout,
} from './protocol.js';
import type { PassageField } from '../shards/index.js';
import { mergeTopK, type Hit } from './merge.js';
import type { IndexSet } from './index-set.js';
import { SearchOverloadedError, SearchRequestError } from './errors.js';
import { ReplySlicer, ReplyTooLargeError } from './reply-slices.js';
import { CancelledError } from '../common/index.js';
import { hedged, ShardLatencies, type HedgeCounters, type HedgePolicy } from './hedging.js';
import type { Routing } from './routing.js';

/*
 * Scatter-gather: one request per shard of the index set, all at once;
 * answers gathered until the deadline; the global top-k merged from what
 * came back. A shard that does not answer in time (or has no server, or
 * fails) is named in `missingShards` and the answer is `partial`. Dense,
 * BM25 (with corpus-wide statistics gathered first: distributed IDF) and
 * every future fan-out go through `scatter`. Replies are checked against
 * their contract; one that breaks it counts as a failed shard.
 */

/** Share of a BM25 deadline the statistics phase may use; the search phase gets the rest. */
const BM25_STATS_SHARE = 0.4;

/** Shard error codes that are the caller's fault (the same request fails on every shard): a 400, not a partial answer. */
const CALLER_FAULTS = new Set(['SEARCH_BAD_REQUEST', 'FAISS_INVALID_ARGUMENT']);

export interface SearchResponse {
  nq: number;
  k: number;
  /** Per query, the global top-k best first. */
  hits: Hit[][];
  partial: boolean;
  /** Shards with no answer in time or that failed, with why. */
  missingShards: Array<{ shard: number; reason: string }>;
  /** Inner work summed over shards (Faiss counters). */
  counters: SearchCountersWire;
  /** Time each shard took to answer (ms, as seen by the router). */
  shardMs: Record<number, number>;
  /** Time each shard's server spent on the request (ms, as it reported): the rest of shardMs is the network and queues. */
  serviceMs: Record<number, number>;
  /** Of each server's time, the search itself (ms): the rest waited for a thread or (de)coded. */
  workMs: Record<number, number>;
  /** Time spent merging the shards' lists (ms). */
  mergeMs: number;
  ms: number;
}

interface Gathered<H> {
  replies: Array<{ shard: number; header: H; payload: ArrayBuffer; ms: number }>;
  missing: Array<{ shard: number; reason: string }>;
}

export interface Bm25SearchOptions {
  k: number;
  deadlineMs?: number;
  stats?: 'corpus' | 'shard';
  signal?: AbortSignal;
}

export interface DenseSearchOptions {
  index: string;
  k: number;
  nprobe?: number;
  efSearch?: number;
  deadlineMs?: number;
  /** The caller went away (a closed HTTP connection, a cancelled gRPC call): stop waiting for shards. */
  signal?: AbortSignal;
}

export class SearchRouter {
  private readonly setId: string;
  private readonly analyzer = new EnglishAnalyzer();
  readonly shards: number[];
  /** Answers each shard gave this router and their summed time (what the dashboard shows as shard load). */
  readonly shardLoad = new Map<number, { answers: number; totalMs: number }>();

  /** Hedged requests so far (search/hedging.ts): sent, and answered first by the hedge. */
  readonly hedges: HedgeCounters = { sent: 0, won: 0 };
  private readonly latencies: ShardLatencies | null;

  /** Index names this router searches: the set's, or those its routed partitions or graph groups hold. */
  readonly names: string[];
  readonly layout: ServingLayout;
  private readonly routing: Routing | null;
  /** Cuts requests whose answers would not fit one NATS message into slices that do (search/reply-slices.ts). */
  private readonly slicer = new ReplySlicer(() => this.nc.info?.max_payload ?? 1 << 20);

  constructor(
    readonly nc: NatsConnection,
    readonly indexSet: IndexSet,
    private readonly defaultDeadlineMs = 2000,
    /** Hedge a shard's request to all its replicas after this policy's percentile delay; null = never. */
    hedge: HedgePolicy | null = null,
    /**
     * What serves the set: its shards (every request to every shard); routed partitions (routed IVF,
     * search/routing.ts: each asked with only the lists it owns of those the shared quantizer assigned);
     * graph groups (every request to every group, each one graph over a group of shards).
     */
    serving: { layout: 'shards' } | { layout: 'routed'; routing: Routing } | { layout: 'groups' } = { layout: 'shards' },
  ) {
    this.setId = indexSetId(indexSet.key);
    this.layout = serving.layout;
    this.routing = serving.layout === 'routed' ? serving.routing : null;
    const parts = serving.layout === 'routed' ? indexSet.manifest.routed : serving.layout === 'groups' ? indexSet.manifest.groups : null;
    if (serving.layout !== 'shards' && !parts)
      throw new SearchRequestError(`index set ${indexSet.key} has no ${serving.layout === 'routed' ? 'routed partitions' : 'graph groups'}`);
    this.shards = (parts?.parts ?? indexSet.manifest.shards).map((s) => s.id);
    this.names = parts ? parts.indexes : indexSet.names;
    this.latencies = hedge ? new ShardLatencies(hedge) : null;
  }

  private subjectOf(shard: number): string {
    return servingSubject(this.setId, this.layout, shard);
  }

  /** Sends the request to `shards` (default all); resolves by the deadline with whatever answered. */
  async scatter<S extends z.ZodType>(
    body: ShardRequestBody,
    replySchema: S,
    deadlineMs: number,
    payload: ArrayBufferView[] = [],
    shards: readonly number[] = this.shards,
    signal?: AbortSignal,
  ): Promise<Gathered<z.infer<S>>> {
    signal?.throwIfAborted();
    const deadline = performance.now() + deadlineMs;
    const frame = encodeRequest(body, deadlineMs, ...payload);
    const kind = body.op === 'dense' ? `dense:${body.index}` : body.op;
    const replies: Gathered<z.infer<S>>['replies'] = [];
    const missing: Gathered<z.infer<S>>['missing'] = [];
    const gathering = Promise.all(
      shards.map(async (shard) => {
        const sent = performance.now();
        try {
          const timeout = Math.max(1, Math.round(deadline - sent));
          const msg = await hedged(
            this.nc.request(this.subjectOf(shard), frame, { timeout }),
            this.latencies?.delayFor(shard, kind) ?? null,
            () =>
              this.nc.request(hedgeSubject(this.setId, shard, this.layout), frame, {
                timeout: Math.max(1, Math.round(deadline - performance.now())),
              }),
            this.hedges,
          );
          // A reply is bounded by the NATS message it came in, not by the request header cap.
          const decoded = decodeFrame(msg.data, msg.data.byteLength);
          const header = parseReply(replySchema, decoded.header);
          if ((header as ShardErrorHeader).error) {
            const error = (header as ShardErrorHeader).error;
            // The caller's fault (same request on every shard): say so instead of a partial answer.
            if (CALLER_FAULTS.has(error.code)) throw new SearchRequestError(error.message);
            // Too many queries × k for one message: the slicer answers it in smaller slices.
            if (error.code === 'REPLY_TOO_LARGE') throw new ReplyTooLargeError(error.message);
            if (error.code === 'RESOURCE_EXHAUSTED') {
              missing.push({ shard, reason: `overloaded: ${error.message}` });
              return;
            }
            missing.push({ shard, reason: `failed: ${error.code}: ${error.message}` });
          } else {
            const searched = header as { nq?: number; k?: number };
            if (searched.nq !== undefined && searched.k !== undefined) this.slicer.observe(searched.nq * searched.k, msg.data.byteLength);
            const ms = performance.now() - sent;
            this.latencies?.record(shard, ms, kind);
            replies.push({ shard, header: header as z.infer<S>, payload: decoded.payload, ms });
          }
        } catch (err) {
          if (err instanceof SearchRequestError) throw err;
          const code = (err as { code?: string }).code;
          missing.push({
            shard,
            reason:
              code === '503'
                ? 'no server for this shard'
                : code === 'TIMEOUT'
                  ? `no answer within ${Math.round(deadlineMs)} ms`
                  : `failed: ${(err as Error).message}`,
          });
        }
      }),
    );
    // A cancelled caller stops waiting at once; the shard servers drop the work at its expiresAt.
    await (signal ? Promise.race([gathering, abortedPromise(signal)]) : gathering);
    // Every shard turned it away for load: the caller is told to come back, not handed an empty answer.
    if (replies.length === 0 && missing.length > 0 && missing.every((m) => m.reason.startsWith('overloaded')))
      throw new SearchOverloadedError(`every shard is busy (${missing[0]!.reason.slice('overloaded: '.length)}); try again shortly`);
    missing.sort((a, b) => a.shard - b.shard);
    return { replies, missing };
  }

  async dense(vectors: Float32Array, dim: number, options: DenseSearchOptions): Promise<SearchResponse> {
    this.checkIndex(options.index);
    if (vectors.length % dim !== 0) throw new SearchRequestError(`query vectors hold ${vectors.length} floats, not a multiple of dimension ${dim}`);
    // A query's request bytes: its vector, and on routed partitions its probed lists and coarse distances.
    const routedBytes = this.routing ? Math.min(options.nprobe ?? this.routing.get(options.index)?.nprobe ?? 1, PROTOCOL_LIMITS.maxNprobe) * 12 : 0;
    return this.slicer.run(
      vectors.length / dim,
      options.k,
      options.deadlineMs ?? this.defaultDeadlineMs,
      (from, to, deadlineMs) => this.denseSlice(vectors.subarray(from * dim, to * dim), dim, { ...options, deadlineMs }),
      dim * 4 + routedBytes,
    );
  }

  /** One slice of a dense search: its answers fit one message per shard. */
  private async denseSlice(vectors: Float32Array, dim: number, options: DenseSearchOptions): Promise<SearchResponse> {
    const nq = vectors.length / dim;
    const request: ShardRequestBody = {
      op: 'dense',
      index: options.index,
      k: options.k,
      nq,
      dim,
      ...(options.nprobe ? { nprobe: options.nprobe } : {}),
      ...(options.efSearch ? { efSearch: options.efSearch } : {}),
    };
    const started = performance.now();
    if (this.routing) return this.denseRouted(vectors, dim, nq, request, options, started);
    const gathered = await this.scatter(request, ShardSearchHeaderSchema, options.deadlineMs ?? this.defaultDeadlineMs, [vectors], this.shards, options.signal);
    return this.mergeRanked(gathered, nq, options.k, started);
  }

  /**
   * Routed IVF: the queries are assigned once against the shared centroids, and each partition that
   * owns one of the probed lists gets the queries with only its lists (-1 in the others' slots).
   * Partitions that own none of them are not asked.
   */
  private async denseRouted(
    vectors: Float32Array,
    dim: number,
    nq: number,
    request: Extract<ShardRequestBody, { op: 'dense' }>,
    options: DenseSearchOptions,
    started: number,
  ): Promise<SearchResponse> {
    const route = this.routing!.get(options.index)!;
    if (options.efSearch) throw new SearchRequestError('efSearch is a graph parameter; a routed IVF index takes nprobe', { field: 'efSearch' });
    if (dim !== route.quantizer.dim)
      throw new SearchRequestError(`queries have dimension ${dim}, index "${options.index}" has ${route.quantizer.dim}`, { field: 'dim' });
    // Past the list count nprobe means every list: clamped before the nq × nprobe assignment is allocated.
    const nprobe = Math.min(options.nprobe ?? route.nprobe, route.owner.length);
    const assigned = await route.quantizer.assign(vectors, nprobe);
    const perQuery = assigned.lists.length / nq;
    const byPartition = new Map<number, BigInt64Array>();
    assigned.lists.forEach((list, i) => {
      if (list < 0n) return;
      const owner = route.owner[Number(list)]!;
      let lists = byPartition.get(owner);
      if (!lists) byPartition.set(owner, (lists = new BigInt64Array(assigned.lists.length).fill(-1n)));
      lists[i] = list;
    });
    const deadlineMs = Math.max(1, (options.deadlineMs ?? this.defaultDeadlineMs) - (performance.now() - started));
    const body = { ...request, lists: perQuery };
    delete body.nprobe;
    const parts = await Promise.all(
      [...byPartition].map(([partition, lists]) =>
        this.scatter(body, ShardSearchHeaderSchema, deadlineMs, [vectors, lists, assigned.coarse], [partition], options.signal),
      ),
    );
    const gathered = { replies: parts.flatMap((p) => p.replies), missing: parts.flatMap((p) => p.missing) };
    const response = this.mergeRanked(gathered, nq, options.k, started);
    response.counters.quantizerDis += nq * route.owner.length;
    return response;
  }

  /**
   * BM25 with corpus-wide statistics: first every shard's df of the query
   * terms (within a share of the deadline), then the search with their sums,
   * sent only to the shards that gave statistics: a shard whose counts are
   * missing would be scored against the wrong corpus, so it is named
   * missing instead, and the answer is partial.
   */
  async bm25(texts: readonly string[], options: Bm25SearchOptions): Promise<SearchResponse> {
    this.checkIndex('bm25');
    const queries = texts.map((t) => this.analyzer.analyze(t));
    // What the shards would refuse is refused here, naming the query: never an answer with no hits.
    queries.forEach((terms, i) => {
      if (terms.length > PROTOCOL_LIMITS.maxTermsPerQuery)
        throw new SearchRequestError(`query ${i} has ${terms.length} terms after analysis; at most ${PROTOCOL_LIMITS.maxTermsPerQuery}`, {
          field: `queries.${i}`,
        });
      const long = terms.find((term) => term.length > PROTOCOL_LIMITS.maxTermLength);
      if (long !== undefined)
        throw new SearchRequestError(`query ${i} has a term of ${long.length} characters; at most ${PROTOCOL_LIMITS.maxTermLength}`, { field: `queries.${i}` });
    });
    // A query's request bytes: its terms in the search header, and again in the statistics request.
    const termBytes = Math.max(...queries.map((terms) => 2 * JSON.stringify(terms).length));
    return this.slicer.run(
      queries.length,
      options.k,
      options.deadlineMs ?? this.defaultDeadlineMs,
      (from, to, deadlineMs) => this.bm25Slice(queries.slice(from, to), { ...options, deadlineMs }),
      termBytes,
    );
  }

  /** One slice of a BM25 search (its own statistics phase: df sums are exact per term, whatever the slice). */
  private async bm25Slice(queries: string[][], options: Bm25SearchOptions): Promise<SearchResponse> {
    const started = performance.now();
    const deadlineMs = options.deadlineMs ?? this.defaultDeadlineMs;
    const request: Omit<Bm25SearchRequest, 'v' | 'expiresAt'> = { op: 'bm25', k: options.k, queries };
    let searched: readonly number[] = this.shards;
    let statsMissing: Gathered<unknown>['missing'] = [];
    if ((options.stats ?? 'corpus') === 'corpus') {
      const terms = [...new Set(queries.flat())];
      const gathered = await this.scatter({ op: 'bm25-stats', terms }, ShardStatsHeaderSchema, deadlineMs * BM25_STATS_SHARE, [], this.shards, options.signal);
      const df = new Array<number>(terms.length).fill(0);
      let docCount = 0;
      let sumTotalTermFreq = 0;
      for (const { header } of gathered.replies as Array<{ header: ShardStatsHeader }>) {
        docCount += header.docCount;
        sumTotalTermFreq += header.sumTotalTermFreq;
        header.df.forEach((d, i) => (df[i]! += d));
      }
      request.stats = { docCount, sumTotalTermFreq, df, terms };
      searched = gathered.replies.map((r) => r.shard);
      statsMissing = gathered.missing.map((m) => ({ shard: m.shard, reason: `no BM25 statistics: ${m.reason}` }));
    }
    const remaining = Math.max(1, deadlineMs - (performance.now() - started));
    const gathered = await this.scatter(request, ShardSearchHeaderSchema, remaining, [], searched, options.signal);
    gathered.missing = [...statsMissing, ...gathered.missing].sort((a, b) => a.shard - b.shard);
    return this.mergeRanked(gathered, queries.length, options.k, started);
  }

  /**
   * The title and text of the final hits, fetched after the merge from the shards that own them (a
   * vector database's second phase: k passages read, not k per shard). A shard that does not answer
   * leaves its hits without text and is named in `missingShards`; the ranking is not partial.
   */
  async withPassages(
    response: SearchResponse,
    fields: readonly PassageField[],
    options: { deadlineMs?: number; signal?: AbortSignal } = {},
  ): Promise<SearchResponse> {
    const started = performance.now();
    const byShard = new Map<number, Hit[]>();
    for (const hit of response.hits.flat()) {
      if (!byShard.has(hit.shard)) byShard.set(hit.shard, []);
      byShard.get(hit.shard)!.push(hit);
    }
    const chunks = [...byShard].flatMap(([shard, hits]) =>
      Array.from({ length: Math.ceil(hits.length / PROTOCOL_LIMITS.maxPassageRows) }, (_, c) => ({
        shard,
        hits: hits.slice(c * PROTOCOL_LIMITS.maxPassageRows, (c + 1) * PROTOCOL_LIMITS.maxPassageRows),
      })),
    );
    const missing: SearchResponse['missingShards'] = [];
    const deadlineMs = options.deadlineMs ?? this.defaultDeadlineMs;
    await Promise.all(
      chunks.map(async ({ shard, hits }) => {
        const body: ShardRequestBody = { op: 'passages', rowIds: hits.map((h) => h.rowId), fields: [...fields] };
        const gathered = await this.scatter(body, ShardPassagesHeaderSchema, deadlineMs, [], [shard], options.signal);
        const reply = gathered.replies[0] as { header: ShardPassagesHeader } | undefined;
        if (!reply || reply.header.passages.length !== hits.length) {
          const reason = gathered.missing[0]?.reason ?? `failed: ${reply?.header.passages.length} passages for ${hits.length} rows`;
          if (!missing.some((m) => m.shard === shard)) missing.push({ shard, reason: `no passage text: ${reason}` });
          return;
        }
        reply.header.passages.forEach((p, i) => Object.assign(hits[i]!, p));
      }),
    );
    missing.sort((a, b) => a.shard - b.shard);
    return { ...response, missingShards: [...response.missingShards, ...missing], ms: response.ms + (performance.now() - started) };
  }

  private mergeRanked({ replies, missing }: Gathered<ShardSearchHeader>, nq: number, k: number, started: number): SearchResponse {
    const counters = { ndis: 0, nhops: 0, nlist: 0, quantizerDis: 0 };
    const shardMs: Record<number, number> = {};
    const serviceMs: Record<number, number> = {};
    const workMs: Record<number, number> = {};
    let higherIsBetter = true;
    const perShard: Array<{ shard: number; header: ShardSearchHeader; labels: BigInt64Array; scores: Float32Array }> = [];
    for (const { shard, header, payload, ms } of replies) {
      const entries = header.nq * header.k;
      if (header.nq !== nq || header.externalIds.length !== entries || header.k > k) {
        missing.push({ shard, reason: `failed: reply of ${header.nq} × ${header.k} for ${nq} queries × k ${k}` });
        continue;
      }
      let labels: BigInt64Array;
      let scores: Float32Array;
      try {
        labels = viewBigInt64(payload, 0, entries, 'row ids');
        scores = viewFloat32(payload, Math.ceil((entries * 8) / 8) * 8, entries, 'scores');
      } catch (err) {
        missing.push({ shard, reason: `failed: ${(err as Error).message}` });
        continue;
      }
      shardMs[shard] = ms;
      serviceMs[shard] = header.ms;
      workMs[shard] = header.workMs ?? header.ms;
      const load = this.shardLoad.get(shard) ?? { answers: 0, totalMs: 0 };
      this.shardLoad.set(shard, { answers: load.answers + 1, totalMs: load.totalMs + ms });
      higherIsBetter = header.higherIsBetter;
      for (const key of Object.keys(counters) as Array<keyof typeof counters>) counters[key] += header.counters[key];
      perShard.push({ shard, header, labels, scores });
    }
    missing.sort((a, b) => a.shard - b.shard);
    const mergeStarted = performance.now();
    const hits: Hit[][] = [];
    for (let q = 0; q < nq; q++) {
      const lists = perShard.map(({ shard, header, labels, scores }) => {
        const list: Hit[] = [];
        for (let r = 0; r < header.k; r++) {
          const label = labels[q * header.k + r]!;
          if (label < 0n) break;
          list.push({ rowId: Number(label), externalId: header.externalIds[q * header.k + r]!, score: scores[q * header.k + r]!, shard });
        }
        return list;
      });
      hits.push(mergeTopK(lists, k, higherIsBetter));
    }
    const done = performance.now();
    return {
      nq,
      k,
      hits,
      partial: missing.length > 0,
      missingShards: missing,
      counters,
      shardMs,
      serviceMs,
      workMs,
      mergeMs: done - mergeStarted,
      ms: done - started,
    };
  }

  private checkIndex(name: string): void {
    if (!this.names.includes(name))
      throw new SearchRequestError(
        `index set ${this.indexSet.key} has no index "${name}"${this.layout === 'shards' ? '' : ` on its ${this.layout === 'routed' ? 'routed partitions' : 'graph groups'}`} (it has: ${this.names.join(', ')})`,
        { field: 'index' },
      );
  }
}

/** Rejects with the signal's reason (a CancelledError unless the caller gave another) when it aborts. */
function abortedPromise(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(signal.reason instanceof Error ? signal.reason : new CancelledError('the search was cancelled'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}
