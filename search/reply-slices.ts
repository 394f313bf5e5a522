import { SearchRequestError } from './errors.js';
import type { SearchResponse } from './router.js';

/*
 * A shard answers a request in one NATS message, so an answer is bounded by
 * the server's max_payload (8 MiB by default): nq × k entries of 12 bytes
 * (row id, score) plus each hit's external id in the header. Whatever the API
 * accepts must be answered, so the router cuts a request's queries into
 * slices whose answers fit, runs them one after another (one slice's answers
 * in memory at a time on the shard servers), and joins the slices' answers.
 *
 * The size of an answer depends on the external ids, which the router learns
 * from the answers it gets (the largest bytes per entry seen). Should a slice
 * still come back too large (ids longer than any seen), it is halved and
 * tried again; one query whose answer alone is too large is the caller's: a
 * 400 naming `k`.
 */

/** A shard's answer did not fit one NATS message (the server said REPLY_TOO_LARGE). */
export class ReplyTooLargeError extends SearchRequestError {
  constructor(message: string) {
    super(message, { field: 'k' });
  }
}

/** Bytes an answer entry was assumed to take before any answer was seen: 12 for row id and score, ~50 for its id in JSON. */
export const FIRST_BYTES_PER_ENTRY = 64;
/** The share of max_payload a slice's answer is sized to (the header's other fields and the estimate's error). */
export const PAYLOAD_SHARE = 0.75;

export class ReplySlicer {
  private bytesPerEntry = FIRST_BYTES_PER_ENTRY;

  constructor(private readonly maxPayloadBytes: () => number) {}

  /** An answer of `entries` entries took `bytes`: later slices are sized by the largest such ratio. */
  observe(entries: number, bytes: number): void {
    if (entries > 0) this.bytesPerEntry = Math.max(this.bytesPerEntry, bytes / entries);
  }

  /** Queries per slice at depth k whose answers, and whose request (`requestBytesPerQuery` each), fit one message (at least one). */
  queriesPerSlice(k: number, requestBytesPerQuery = 0): number {
    return Math.max(1, Math.floor((this.maxPayloadBytes() * PAYLOAD_SHARE) / Math.max(this.bytesPerEntry * k, requestBytesPerQuery)));
  }

  /**
   * Runs `search` over slices of the nq queries (each call gets [from, to) and the deadline left) and
   * joins their answers; a request that fits runs as one slice. `requestBytesPerQuery` sizes the request
   * side: a query vector (dim × 4 bytes) or a BM25 query's terms.
   */
  async run(
    nq: number,
    k: number,
    deadlineMs: number,
    search: (from: number, to: number, deadlineMs: number) => Promise<SearchResponse>,
    requestBytesPerQuery = 0,
  ): Promise<SearchResponse> {
    const started = performance.now();
    const left = () => Math.max(1, deadlineMs - (performance.now() - started));
    const attempt = async (from: number, to: number): Promise<SearchResponse> => {
      try {
        return await search(from, to, left());
      } catch (err) {
        if (!(err instanceof ReplyTooLargeError)) throw err;
        if (to - from === 1)
          throw new SearchRequestError(
            `the answer to one query at k ${k} does not fit one NATS message (max_payload ${this.maxPayloadBytes()} bytes): ask for a smaller k`,
            { field: 'k' },
          );
        const middle = from + Math.floor((to - from) / 2);
        return joinResponses([await attempt(from, middle), await attempt(middle, to)], k, started);
      }
    };
    const per = this.queriesPerSlice(k, requestBytesPerQuery);
    if (nq <= per) return attempt(0, nq);
    const parts: SearchResponse[] = [];
    for (let from = 0; from < nq; from += per) parts.push(await attempt(from, Math.min(nq, from + per)));
    return joinResponses(parts, k, started);
  }
}

/** The answers of consecutive query slices as one answer: hits in query order, counters summed, each shard's slowest time. */
export function joinResponses(parts: SearchResponse[], k: number, started: number): SearchResponse {
  const missing = new Map<number, string>();
  for (const part of parts) for (const m of part.missingShards) if (!missing.has(m.shard)) missing.set(m.shard, m.reason);
  const slowest = (pick: (r: SearchResponse) => Record<number, number>) => {
    const out: Record<number, number> = {};
    for (const part of parts) for (const [shard, ms] of Object.entries(pick(part))) out[Number(shard)] = Math.max(out[Number(shard)] ?? 0, ms);
    return out;
  };
  const counters = { ndis: 0, nhops: 0, nlist: 0, quantizerDis: 0 };
  for (const part of parts) for (const key of Object.keys(counters) as Array<keyof typeof counters>) counters[key] += part.counters[key];
  return {
    nq: parts.reduce((sum, p) => sum + p.nq, 0),
    k,
    hits: parts.flatMap((p) => p.hits),
    partial: missing.size > 0,
    missingShards: [...missing].map(([shard, reason]) => ({ shard, reason })).sort((a, b) => a.shard - b.shard),
    counters,
    shardMs: slowest((p) => p.shardMs),
    serviceMs: slowest((p) => p.serviceMs),
    workMs: slowest((p) => p.workMs),
    mergeMs: parts.reduce((sum, p) => sum + p.mergeMs, 0),
    ms: performance.now() - started,
  };
}
