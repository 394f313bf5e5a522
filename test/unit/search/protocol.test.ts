import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeFrame,
  encodeFrame,
  encodeRequest,
  parseRequest,
  parseReply,
  PROTOCOL_LIMITS,
  PROTOCOL_VERSION,
  ShardSearchHeaderSchema,
  viewFloat32,
} from '../../../search/protocol.js';
import { mergeTopK, reciprocalRankFusion, type Hit } from '../../../search/merge.js';

const hit = (rowId: number, score: number, shard = 0): Hit => ({ rowId, externalId: `p${rowId}`, score, shard });

test('frames round-trip: header, then 8-byte aligned payloads at any offset of the message', () => {
  const vectors = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const ids = BigInt64Array.from([7n, -1n]);
  const frame = encodeFrame({ a: 'x' }, ids, vectors);
  // NATS hands the data at an arbitrary offset of its buffer.
  const shifted = new Uint8Array(frame.byteLength + 3);
  shifted.set(frame, 3);
  const { header, payload } = decodeFrame(shifted.subarray(3));
  assert.deepEqual(header, { a: 'x' });
  assert.deepEqual([...new BigInt64Array(payload, 0, 2)], [7n, -1n]);
  assert.deepEqual([...viewFloat32(payload, 16, 6, 'v')], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => viewFloat32(payload, 16, 7, 'v'), /payload holds 40 bytes, needs 44/);
});

test('malformed frames are contract errors, never crashes', () => {
  assert.throws(
    () => decodeFrame(new Uint8Array(2)),
    (e: Error & { code?: string }) => e.code === 'CONTRACT_VIOLATION' && /shorter than its length prefix/.test(e.message),
  );
  const long = new Uint8Array(8);
  new DataView(long.buffer).setUint32(0, 100, true);
  assert.throws(() => decodeFrame(long), /runs past the message/);
  new DataView(long.buffer).setUint32(0, 2 ** 31, true);
  assert.throws(() => decodeFrame(long), /exceeds 1048576/);
  const notJson = new Uint8Array(8);
  new DataView(notJson.buffer).setUint32(0, 4, true);
  notJson.set(new TextEncoder().encode('{{{{'), 4);
  assert.throws(() => decodeFrame(notJson), /not JSON/);
});

test('requests are checked against their op, version and caps, naming the field', () => {
  const dense = { v: PROTOCOL_VERSION, expiresAt: Date.now() + 1000, op: 'dense', index: 'flat', k: 10, nq: 2, dim: 64 };
  assert.equal(parseRequest(dense).op, 'dense');
  const refused = (header: unknown, code: string, field: string) =>
    assert.throws(
      () => parseRequest(header),
      (e: Error & { code?: string; field?: string }) => e.code === code && e.field === field,
      JSON.stringify(header),
    );
  refused({ ...dense, k: 1e9 }, 'CONTRACT_VIOLATION', 'k');
  refused({ ...dense, efSearch: 2 ** 31 - 1 }, 'CONTRACT_VIOLATION', 'efSearch');
  refused({ ...dense, nprobe: 0 }, 'CONTRACT_VIOLATION', 'nprobe');
  refused({ ...dense, nq: PROTOCOL_LIMITS.maxQueries + 1 }, 'CONTRACT_VIOLATION', 'nq');
  refused({ ...dense, nq: 4000, k: 1000 }, 'CONTRACT_VIOLATION', 'k');
  refused({ ...dense, extra: 1 }, 'CONTRACT_VIOLATION', 'header');
  refused({ ...dense, v: 1 }, 'PROTOCOL_VERSION', 'v');
  refused({ ...dense, op: 'drop-tables' }, 'CONTRACT_VIOLATION', 'op');
  refused([1, 2], 'PROTOCOL_VERSION', 'v');
  refused(null, 'CONTRACT_VIOLATION', 'frame');
  const bm25 = { v: PROTOCOL_VERSION, expiresAt: Date.now() + 1000, op: 'bm25', k: 5, queries: [['dog']] };
  assert.equal(parseRequest(bm25).op, 'bm25');
  refused({ ...bm25, queries: [Array.from({ length: 300 }, () => 'w')] }, 'CONTRACT_VIOLATION', 'queries.0');
  refused({ ...bm25, queries: [['x'.repeat(300)]] }, 'CONTRACT_VIOLATION', 'queries.0.0');
  refused({ ...bm25, stats: { docCount: 1, sumTotalTermFreq: 1, df: [1, 2], terms: ['a'] } }, 'CONTRACT_VIOLATION', 'stats.df');
});

test('encodeRequest adds version and expiry; replies are parsed as answers or errors', () => {
  const before = Date.now();
  const { header } = decodeFrame(encodeRequest({ op: 'bm25-stats', terms: ['dog'] }, 250));
  const parsed = parseRequest(header);
  assert.equal(parsed.v, PROTOCOL_VERSION);
  assert.ok(parsed.expiresAt >= before + 250 && parsed.expiresAt <= Date.now() + 250);
  const error = parseReply(ShardSearchHeaderSchema, { v: 2, shard: 3, error: { code: 'X', message: 'm' } });
  assert.equal('error' in error && error.error.code, 'X');
  assert.throws(() => parseReply(ShardSearchHeaderSchema, { v: 2, shard: 3, nq: 1 }), /CONTRACT|k:|higherIsBetter|counters/);
});

test('mergeTopK: best first across shards, ties to the smaller row id, lower-is-better for distances', () => {
  const a = [hit(5, 0.9), hit(1, 0.5), hit(2, 0.1)];
  const b = [hit(4, 0.9, 1), hit(3, 0.7, 1)];
  assert.deepEqual(
    mergeTopK([a, b], 4, true).map((h) => h.rowId),
    [4, 5, 3, 1],
  );
  assert.deepEqual(mergeTopK([a, [], b], 10, true).length, 5);
  const l2a = [hit(8, 0.1), hit(9, 2)];
  const l2b = [hit(7, 0.1, 1), hit(6, 0.5, 1)];
  assert.deepEqual(
    mergeTopK([l2a, l2b], 3, false).map((h) => h.rowId),
    [7, 8, 6],
  );
  assert.deepEqual(mergeTopK([], 3, true), []);
});

test('reciprocal rank fusion: weighted 1/(c + rank), hand-computed', () => {
  const dense = [hit(1, 0.9), hit(2, 0.8)];
  const lexical = [hit(2, 12), hit(3, 10)];
  const fused = reciprocalRankFusion(
    [
      { hits: dense, weight: 1 },
      { hits: lexical, weight: 2 },
    ],
    3,
    60,
  );
  assert.deepEqual(
    fused.map((h) => h.rowId),
    [2, 3, 1],
  );
  assert.ok(Math.abs(fused[0]!.score - (1 / 62 + 2 / 61)) < 1e-12);
  assert.ok(Math.abs(fused[1]!.score - 2 / 62) < 1e-12);
  assert.ok(Math.abs(fused[2]!.score - 1 / 61) < 1e-12);
});
