/*
 * One table of the limits that have to fit together, read by every layer
 * that enforces one: the NATS server's message size (messaging), what one
 * shard request may ask (the search protocol, shard servers), and what the
 * API accepts (its request schema and config caps). The rules between them
 * are checked by test/unit/common/limits.test.ts: every request the API
 * accepts is one the shard servers accept, and every answer is either one
 * NATS message or cut into query slices that are (search/reply-slices.ts).
 */

/** Largest NATS message, bytes: nats-server's `max_payload`, and so the largest shard answer. */
export const NATS_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

/** What one request may ask of a shard server (search/protocol.ts validates every request frame against these). */
export const SHARD_REQUEST_LIMITS = {
  /** Largest header, bytes (a request's; an answer is bounded by its message). */
  maxHeaderBytes: 1 << 20,
  maxQueries: 4096,
  maxK: 10_000,
  /** nq × k: bounds the answer's arrays (row ids, scores, external ids). */
  maxResultEntries: 1 << 21,
  maxDim: 8192,
  maxEfSearch: 4096,
  maxNprobe: 65_536,
  maxTermsPerQuery: 256,
  maxTermLength: 256,
  /** Distinct terms of a statistics request. */
  maxStatsTerms: 65_536,
  /** Rows of one passages request (routers send more in several: a reply must fit a NATS message). */
  maxPassageRows: 256,
} as const;

/** What the API accepts at most, whatever its config says (its config caps, `api.maxK` and `api.maxQueries`, must lie within). */
export const API_REQUEST_LIMITS = {
  /** Queries or texts per request: the shard servers' cap. */
  maxQueries: SHARD_REQUEST_LIMITS.maxQueries,
  /** k per query. */
  maxK: SHARD_REQUEST_LIMITS.maxK,
  /** Longest query text, characters: a query is a question, not a document. */
  maxQueryChars: 4096,
} as const;
