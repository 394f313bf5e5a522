import type { NatsConnection } from 'nats';
import { EnglishAnalyzer } from '../bm25/index.js';
import { decodeFrame, encodeFrame, indexSetId, shardSubject, type Bm25SearchRequest, type DenseRequest, type SearchCountersWire, type ShardErrorHeader, type ShardSearchHeader, type ShardStatsHeader } from './protocol.js';
import { mergeTopK, type Hit } from './merge.js';
import type { IndexSet } from './index-set.js';
import { SearchRequestError } from './errors.js';

/*
 * Scatter-gather: one request per shard of the index set, all at once;
 * answers gathered until the deadline; the global top-k merged from what
 * came back. A shard that does not answer in time (or has no server, or
 * fails) is named in `missingShards` and the answer is `partial`. Dense,
 * BM25 (with corpus-wide statistics gathered first: distributed IDF) and
 * every future fan-out go through `scatter`.
 */

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
  ms: number;
}

interface Gathered<H> {
  replies: Array<{ shard: number; header: H; payload: ArrayBuffer; ms: number }>;
  missing: Array<{ shard: number; reason: string }>;
}

export interface DenseSearchOptions {
  index: string;
  k: number;
  nprobe?: number;
  efSearch?: number;
  deadlineMs?: number;
}

export class SearchRouter {
  private readonly setId: string;
  private readonly analyzer = new EnglishAnalyzer();
  readonly shards: number[];

  constructor(private readonly nc: NatsConnection, readonly indexSet: IndexSet, private readonly defaultDeadlineMs = 2000) {
    this.setId = indexSetId(indexSet.key);
    this.shards = indexSet.manifest.shards.map((s) => s.id);
  }

  /** Sends `frame` to every shard; resolves by the deadline with whatever answered. */
  async scatter<H>(frame: Uint8Array, deadlineMs: number): Promise<Gathered<H>> {
    const deadline = performance.now() + deadlineMs;
    const replies: Gathered<H>['replies'] = [];
    const missing: Gathered<H>['missing'] = [];
    await Promise.all(
      this.shards.map(async (shard) => {
        const sent = performance.now();
        try {
          const msg = await this.nc.request(shardSubject(this.setId, shard), frame, { timeout: Math.max(1, Math.round(deadline - sent)) });
          const { header, payload } = decodeFrame<H | ShardErrorHeader>(msg.data);
          if ((header as ShardErrorHeader).error) {
            const error = (header as ShardErrorHeader).error;
            if (error.code === 'SEARCH_BAD_REQUEST') throw new SearchRequestError(error.message);
            missing.push({ shard, reason: `failed: ${error.message}` });
          } else replies.push({ shard, header: header as H, payload, ms: performance.now() - sent });
        } catch (err) {
          if (err instanceof SearchRequestError) throw err;
          const code = (err as { code?: string }).code;
          missing.push({ shard, reason: code === '503' ? 'no server for this shard' : code === 'TIMEOUT' ? `no answer within ${deadlineMs} ms` : (err as Error).message });
        }
      }),
    );
    missing.sort((a, b) => a.shard - b.shard);
    return { replies, missing };
  }

  async dense(vectors: Float32Array, dim: number, options: DenseSearchOptions): Promise<SearchResponse> {
    this.checkIndex(options.index);
    if (vectors.length % dim !== 0) throw new SearchRequestError(`query vectors hold ${vectors.length} floats, not a multiple of dimension ${dim}`);
    const nq = vectors.length / dim;
    const request: DenseRequest = { op: 'dense', index: options.index, k: options.k, nq, dim, ...(options.nprobe ? { nprobe: options.nprobe } : {}), ...(options.efSearch ? { efSearch: options.efSearch } : {}) };
    const started = performance.now();
    return this.gatherRanked(encodeFrame(request, vectors), nq, options.k, options.deadlineMs ?? this.defaultDeadlineMs, started);
  }

  /** BM25 with corpus-wide statistics: first every shard's df of the query terms, then the search with their sums. */
  async bm25(texts: readonly string[], options: { k: number; deadlineMs?: number; stats?: 'corpus' | 'shard' }): Promise<SearchResponse> {
    this.checkIndex('bm25');
    const started = performance.now();
    const deadlineMs = options.deadlineMs ?? this.defaultDeadlineMs;
    const queries = texts.map((t) => this.analyzer.analyze(t));
    const request: Bm25SearchRequest = { op: 'bm25', k: options.k, queries };
    if ((options.stats ?? 'corpus') === 'corpus') {
      const terms = [...new Set(queries.flat())];
      const gathered = await this.scatter<ShardStatsHeader>(encodeFrame({ op: 'bm25-stats', terms }), deadlineMs);
      const df = new Array<number>(terms.length).fill(0);
      let docCount = 0;
      let sumTotalTermFreq = 0;
      for (const { header } of gathered.replies) {
        docCount += header.docCount;
        sumTotalTermFreq += header.sumTotalTermFreq;
        header.df.forEach((d, i) => (df[i]! += d));
      }
      request.stats = { docCount, sumTotalTermFreq, df, terms };
    }
    const remaining = Math.max(1, deadlineMs - (performance.now() - started));
    return this.gatherRanked(encodeFrame(request), texts.length, options.k, remaining, started);
  }

  private async gatherRanked(frame: Uint8Array, nq: number, k: number, deadlineMs: number, started: number): Promise<SearchResponse> {
    const { replies, missing } = await this.scatter<ShardSearchHeader>(frame, deadlineMs);
    const counters = { ndis: 0, nhops: 0, nlist: 0, quantizerDis: 0 };
    const shardMs: Record<number, number> = {};
    let higherIsBetter = true;
    const perShard = replies.map(({ shard, header, payload, ms }) => {
      shardMs[shard] = ms;
      higherIsBetter = header.higherIsBetter;
      for (const key of Object.keys(counters) as Array<keyof typeof counters>) counters[key] += header.counters[key];
      const labels = new BigInt64Array(payload, 0, header.nq * header.k);
      const scores = new Float32Array(payload, Math.ceil((header.nq * header.k * 8) / 8) * 8, header.nq * header.k);
      return { shard, header, labels, scores };
    });
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
    return { nq, k, hits, partial: missing.length > 0, missingShards: missing, counters, shardMs, ms: performance.now() - started };
  }

  private checkIndex(name: string): void {
    if (!this.indexSet.names.includes(name)) throw new SearchRequestError(`index set ${this.indexSet.key} has no index "${name}" (it has: ${this.indexSet.names.join(', ')})`, { field: 'index' });
  }
}
