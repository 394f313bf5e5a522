import { createHash } from 'node:crypto';

/*
 * The shard search wire protocol over NATS request-reply. A request goes to
 * `sci.search.<set>.<shard>`; every process serving that shard subscribes in
 * the queue group `sci-shard`, so replicas share the load. <set> is a short
 * hash of the index set's storage key (subjects cannot hold '/' or '.').
 *
 * A message is a frame: u32 little-endian header length, the JSON header,
 * then binary payload (float32 query vectors in; int64 row ids + float32
 * scores out), 8-byte aligned so it can be viewed without copying.
 */

export const SHARD_QUEUE_GROUP = 'sci-shard';

export function indexSetId(indexSetKey: string): string {
  return createHash('sha256').update(indexSetKey).digest('hex').slice(0, 16);
}

export function shardSubject(setId: string, shard: number): string {
  return `sci.search.${setId}.${shard}`;
}

export interface DenseRequest {
  op: 'dense';
  index: string;
  k: number;
  nq: number;
  dim: number;
  nprobe?: number;
  efSearch?: number;
}

export interface Bm25StatsRequest {
  op: 'bm25-stats';
  /** Analyzed query terms, deduplicated. */
  terms: string[];
}

export interface Bm25SearchRequest {
  op: 'bm25';
  k: number;
  /** Analyzed terms per query. */
  queries: string[][];
  /** Corpus-wide statistics (distributed IDF); absent = this shard's own. */
  stats?: { docCount: number; sumTotalTermFreq: number; df: number[]; terms: string[] };
}

export type ShardRequest = DenseRequest | Bm25StatsRequest | Bm25SearchRequest;

export interface SearchCountersWire {
  ndis: number;
  nhops: number;
  nlist: number;
  quantizerDis: number;
}

export interface ShardSearchHeader {
  shard: number;
  nq: number;
  k: number;
  higherIsBetter: boolean;
  counters: SearchCountersWire;
  /** Per row of the result, the passage's external id (or '' where no hit). */
  externalIds: string[];
  ms: number;
}

export interface ShardStatsHeader {
  shard: number;
  docCount: number;
  sumTotalTermFreq: number;
  df: number[];
}

export interface ShardErrorHeader {
  shard: number;
  error: { code: string; message: string };
}

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

/** Header and the payload's bytes (a copy, aligned: NATS message data may sit at any offset). */
export function decodeFrame<H>(data: Uint8Array): { header: H; payload: ArrayBuffer } {
  if (data.byteLength < 4) throw new Error('frame too short');
  const length = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
  if (4 + length > data.byteLength) throw new Error('frame header runs past the message');
  const header = JSON.parse(Buffer.from(data.buffer, data.byteOffset + 4, length).toString('utf8')) as H;
  const start = Math.ceil((4 + length) / 8) * 8;
  // A copy (not data.slice: on a Node Buffer that is a view into the whole socket buffer).
  const payload = new Uint8Array(Math.max(0, data.byteLength - start));
  payload.set(data.subarray(start));
  return { header, payload: payload.buffer };
}
