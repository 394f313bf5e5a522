import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ContractError, SciClusterError, parseContract, SHARD_REQUEST_LIMITS } from '../common/index.js';
import { PASSAGE_FIELDS } from '../shards/index.js';

/*
 * The shard search wire protocol over NATS request-reply. A request goes to
 * `sci.search.<set>.<shard>`; every process serving that shard subscribes in
 * the queue group `sci-shard`, so replicas share the load. <set> is a short
 * hash of the index set's storage key (subjects cannot hold '/' or '.').
 *
 * A message is a frame: u32 little-endian header length, the JSON header,
 * then binary payload (float32 query vectors in; int64 row ids + float32
 * scores out), 8-byte aligned so it can be viewed without copying.
 *
 * Every request header is checked against its schema before any work or
 * allocation: a version, caps on what costs memory or time (nq, k, dim,
 * efSearch, nprobe, terms), and `expiresAt`, after which a server drops the
 * request unanswered (the asker has given up). `expiresAt` is wall-clock
 * epoch milliseconds: servers and routers need synchronised clocks (NTP).
 */

export const SHARD_QUEUE_GROUP = 'sci-shard';

/** Version 2: contracts, caps and expiry. A server answers other versions with PROTOCOL_VERSION. */
export const PROTOCOL_VERSION = 2;

/** What one request may ask of a shard server (the one table: common/limits.ts). */
export const PROTOCOL_LIMITS = SHARD_REQUEST_LIMITS;

/**
 * Roll call: every shard server answers a request here (a plain subscription, not the queue group),
 * so a caller collecting answers for a moment sees each server, replicas included.
 */
export const SERVERS_SUBJECT = 'sci.servers.info';

export interface ShardServerInfo {
  pid: number;
  host: string;
  indexSet: string;
  shards: number[];
  indexes: string[];
  answered: number;
  expired: number;
  refused: number;
  startedAt: string;
}

export function indexSetId(indexSetKey: string): string {
  return createHash('sha256').update(indexSetKey).digest('hex').slice(0, 16);
}

export function shardSubject(setId: string, shard: number): string {
  return `sci.search.${setId}.${shard}`;
}

/**
 * How an index set is served: by its shards, by routed partitions (routed IVF: each holds some inverted
 * lists of every shard; the router sends a query only to the owners of its lists), or by graph groups (each
 * holds one HNSW graph over a group of shards).
 */
export const SERVING_LAYOUTS = ['shards', 'routed', 'groups'] as const;
export type ServingLayout = (typeof SERVING_LAYOUTS)[number];

/** The subject of a shard, routed partition (`r<id>`) or graph group (`g<id>`). */
export function servingSubject(setId: string, layout: ServingLayout, id: number): string {
  return layout === 'shards' ? shardSubject(setId, id) : `sci.search.${setId}.${layout === 'routed' ? 'r' : 'g'}${id}`;
}

/** Every replica of a shard listens here outside the queue group: a hedged request reaches them all, the first answer wins. */
export function hedgeSubject(setId: string, shard: number, layout: ServingLayout = 'shards'): string {
  return `${servingSubject(setId, layout, shard)}.hedge`;
}

/** What the shard-server role may subscribe to without the queue group: the hedge subjects. */
export const HEDGE_SUBJECTS = 'sci.search.*.*.hedge';

const L = PROTOCOL_LIMITS;
const count = (max: number) => z.number().int().min(1).max(max);
const term = z.string().min(1).max(L.maxTermLength);
const envelope = {
  v: z.literal(PROTOCOL_VERSION),
  /** Epoch ms after which the answer is of no use. */
  expiresAt: z.number().int().positive(),
};

export const DenseRequestSchema = z
  .strictObject({
    ...envelope,
    op: z.literal('dense'),
    index: z.string().min(1).max(64),
    k: count(L.maxK),
    nq: count(L.maxQueries),
    dim: count(L.maxDim),
    nprobe: count(L.maxNprobe).optional(),
    efSearch: count(L.maxEfSearch).optional(),
    /**
     * Routed IVF: the payload also holds, per query, this many lists to scan (int64, -1 = none) and their
     * centroid distances (float32), after the vectors; the server scans those instead of asking its quantizer.
     */
    lists: count(L.maxNprobe).optional(),
  })
  .refine((r) => r.nq * r.k <= L.maxResultEntries, { message: `nq × k must be at most ${L.maxResultEntries}`, path: ['k'] });
export type DenseRequest = z.infer<typeof DenseRequestSchema>;

export const Bm25StatsRequestSchema = z.strictObject({
  ...envelope,
  op: z.literal('bm25-stats'),
  /** Analyzed query terms, deduplicated. */
  terms: z.array(term).max(L.maxStatsTerms),
});
export type Bm25StatsRequest = z.infer<typeof Bm25StatsRequestSchema>;

export const CorpusStatsWireSchema = z
  .strictObject({
    docCount: z.number().int().nonnegative(),
    sumTotalTermFreq: z.number().nonnegative(),
    df: z.array(z.number().int().nonnegative()),
    terms: z.array(term).max(L.maxStatsTerms),
  })
  .refine((s) => s.df.length === s.terms.length, { message: 'df and terms must have the same length', path: ['df'] });

export const Bm25SearchRequestSchema = z
  .strictObject({
    ...envelope,
    op: z.literal('bm25'),
    k: count(L.maxK),
    /** Analyzed terms per query. */
    queries: z.array(z.array(term).max(L.maxTermsPerQuery)).min(1).max(L.maxQueries),
    /** Corpus-wide statistics (distributed IDF); absent = this shard's own. */
    stats: CorpusStatsWireSchema.optional(),
  })
  .refine((r) => r.queries.length * r.k <= L.maxResultEntries, { message: `queries × k must be at most ${L.maxResultEntries}`, path: ['k'] });
export type Bm25SearchRequest = z.infer<typeof Bm25SearchRequestSchema>;

/** The title and text of hits, by row id, from the shard's passage file (after the merge: only the final hits). */
export const PassagesRequestSchema = z.strictObject({
  ...envelope,
  op: z.literal('passages'),
  rowIds: z.array(z.number().int().nonnegative()).min(1).max(L.maxPassageRows),
  fields: z
    .array(z.enum(PASSAGE_FIELDS))
    .min(1)
    .max(PASSAGE_FIELDS.length)
    .refine((f) => new Set(f).size === f.length, { message: 'fields must not repeat' }),
});
export type PassagesRequest = z.infer<typeof PassagesRequestSchema>;

/** Any request: the op picks the schema. */
const RequestSchemas = {
  dense: DenseRequestSchema,
  'bm25-stats': Bm25StatsRequestSchema,
  bm25: Bm25SearchRequestSchema,
  passages: PassagesRequestSchema,
} as const;
export type ShardRequest = DenseRequest | Bm25StatsRequest | Bm25SearchRequest | PassagesRequest;
/** A request as a router builds it: the envelope is added when it is framed. */
export type ShardRequestBody = DistributiveOmit<ShardRequest, 'v' | 'expiresAt'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface SearchCountersWire {
  ndis: number;
  nhops: number;
  nlist: number;
  quantizerDis: number;
}

const CountersSchema = z.strictObject({ ndis: z.number(), nhops: z.number(), nlist: z.number(), quantizerDis: z.number() });

export const ShardSearchHeaderSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  shard: z.number().int().nonnegative(),
  nq: z.number().int().nonnegative().max(L.maxQueries),
  k: z.number().int().nonnegative().max(L.maxK),
  higherIsBetter: z.boolean(),
  counters: CountersSchema,
  /** Per row of the result, the passage's external id (or '' where no hit). */
  externalIds: z.array(z.string()),
  /** The server's time on the request, from receipt to answer. */
  ms: z.number(),
  /** Of which the search itself (Faiss on a pool thread; BM25 scoring): the rest is waiting and (de)coding. */
  workMs: z.number().optional(),
});
export type ShardSearchHeader = z.infer<typeof ShardSearchHeaderSchema>;

export const ShardStatsHeaderSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  shard: z.number().int().nonnegative(),
  docCount: z.number().int().nonnegative(),
  sumTotalTermFreq: z.number().nonnegative(),
  df: z.array(z.number().int().nonnegative()),
});
export type ShardStatsHeader = z.infer<typeof ShardStatsHeaderSchema>;

export const ShardPassagesHeaderSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  shard: z.number().int().nonnegative(),
  /** In the request's row order. */
  passages: z.array(z.strictObject({ title: z.string().optional(), text: z.string().optional() })).max(L.maxPassageRows),
});
export type ShardPassagesHeader = z.infer<typeof ShardPassagesHeaderSchema>;

export const ShardErrorHeaderSchema = z.strictObject({
  v: z.number().int(),
  shard: z.number().int(),
  error: z.strictObject({ code: z.string(), message: z.string(), retryable: z.boolean().optional() }),
});
export type ShardErrorHeader = z.infer<typeof ShardErrorHeaderSchema>;

export function encodeFrame(header: object, ...payload: ArrayBufferView[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  const headerEnd = 4 + json.byteLength;
  const start = Math.ceil(headerEnd / 8) * 8;
  const size = payload.reduce((s, p) => s + Math.ceil(p.byteLength / 8) * 8, start);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 4);
  let offset = start;
  for (const p of payload) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
    offset += Math.ceil(p.byteLength / 8) * 8;
  }
  return out;
}

/** Frames a request with the protocol's envelope: version and expiry. */
export function encodeRequest(body: ShardRequestBody, deadlineMs: number, ...payload: ArrayBufferView[]): Uint8Array {
  return encodeFrame({ v: PROTOCOL_VERSION, expiresAt: Date.now() + Math.max(1, Math.round(deadlineMs)), ...body }, ...payload);
}

/** Header (unvalidated JSON) and the payload's bytes (a copy, aligned: NATS message data may sit at any offset). */
export function decodeFrame(data: Uint8Array, maxHeaderBytes: number = L.maxHeaderBytes): { header: unknown; payload: ArrayBuffer } {
  if (data.byteLength < 4) throw new ContractError(`frame of ${data.byteLength} bytes is shorter than its length prefix`, { field: 'frame' });
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  if (length > maxHeaderBytes) throw new ContractError(`frame header of ${length} bytes exceeds ${maxHeaderBytes}`, { field: 'frame' });
  if (4 + length > data.byteLength) throw new ContractError('frame header runs past the message', { field: 'frame' });
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 4, length).toString('utf8'));
  } catch (err) {
    throw new ContractError('frame header is not JSON', { field: 'frame', cause: err });
  }
  const start = Math.ceil((4 + length) / 8) * 8;
  // A copy (not data.slice: on a Node Buffer that is a view into the whole socket buffer).
  const payload = new Uint8Array(Math.max(0, data.byteLength - start));
  payload.set(data.subarray(start));
  return { header, payload: payload.buffer };
}

/** Raised for a request of another protocol version, so the reply can say which one this side speaks. */
export class ProtocolVersionError extends SciClusterError {
  constructor(got: unknown) {
    super(
      'PROTOCOL_VERSION',
      `protocol version ${JSON.stringify(got)} is not supported; this side speaks version ${PROTOCOL_VERSION}`,
      { field: 'v' },
      { retryable: false, status: 400 },
    );
  }
}

/** Checks a decoded request header against its op's contract; the error names the first bad field. */
export function parseRequest(header: unknown): ShardRequest {
  const h = header as { v?: unknown; op?: unknown } | null;
  if (typeof h !== 'object' || h === null) throw new ContractError('frame header must be a JSON object', { field: 'frame' });
  if (h.v !== PROTOCOL_VERSION) throw new ProtocolVersionError(h.v);
  const schema = RequestSchemas[h.op as keyof typeof RequestSchemas];
  if (!schema) throw new ContractError(`unknown op ${JSON.stringify(h.op)} (expected ${Object.keys(RequestSchemas).join(', ')})`, { field: 'op' });
  return parseWith(schema, header) as ShardRequest;
}

/** A reply header: an error, or the schema's shape. */
export function parseReply<S extends z.ZodType>(schema: S, header: unknown): z.infer<S> | ShardErrorHeader {
  if ((header as { error?: unknown } | null)?.error !== undefined) return parseWith(ShardErrorHeaderSchema, header);
  return parseWith(schema, header);
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  return parseContract(schema, value, { emptyField: 'header' });
}

/** Payload arrays of a dense request or a ranked reply, checked against the header's counts. */
export function viewFloat32(payload: ArrayBuffer, byteOffset: number, length: number, what: string): Float32Array {
  if (byteOffset + length * 4 > payload.byteLength)
    throw new ContractError(`${what}: payload holds ${payload.byteLength} bytes, needs ${byteOffset + length * 4}`, { field: 'payload' });
  return new Float32Array(payload, byteOffset, length);
}

export function viewBigInt64(payload: ArrayBuffer, byteOffset: number, length: number, what: string): BigInt64Array {
  if (byteOffset + length * 8 > payload.byteLength)
    throw new ContractError(`${what}: payload holds ${payload.byteLength} bytes, needs ${byteOffset + length * 8}`, { field: 'payload' });
  return new BigInt64Array(payload, byteOffset, length);
}
