import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SciClusterError } from '../../../common/index.js';
import { decodeFrame, encodeFrame, encodeRequest, parseReply, parseRequest, ShardSearchHeaderSchema } from '../../../search/protocol.js';

/*
 * The shard protocol's decoders against anything a peer can send: arbitrary
 * bytes, truncated and bit-flipped frames, arbitrary JSON headers. They
 * answer with a value or a ContractError, never another exception (which a
 * server would count as its own failure) and never a hang. Seeds are printed
 * by fast-check on failure (and the run's seed in the diagnostics), so a
 * failure replays with FC_SEED.
 */

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.FC_RUNS ?? 2000);

/** Whatever a decoder does with hostile input: a value, or a typed refusal that is the peer's fault; anything else fails the property. */
function onlyContractErrors(work: () => unknown): boolean {
  try {
    work();
    return true;
  } catch (err) {
    if (err instanceof SciClusterError && err.status === 400) return true;
    throw err;
  }
}

const validRequest = encodeRequest({ op: 'dense', index: 'flat', k: 10, nq: 1, dim: 4 }, 1000, Float32Array.from([1, 2, 3, 4]));

test('decodeFrame and parseRequest: arbitrary bytes, truncations and bit flips of a valid frame give a value or a typed refusal', (t) => {
  t.diagnostic(`fast-check seed ${seed} (FC_SEED to replay), ${runs} runs per property`);
  const decodeAndParse = (bytes: Uint8Array) => onlyContractErrors(() => parseRequest(decodeFrame(bytes).header));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), decodeAndParse), { seed, numRuns: runs });
  fc.assert(
    fc.property(fc.nat({ max: validRequest.byteLength }), (cut) => decodeAndParse(validRequest.subarray(0, cut))),
    { seed, numRuns: runs },
  );
  fc.assert(
    fc.property(fc.nat({ max: validRequest.byteLength - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
      const flipped = Uint8Array.from(validRequest);
      flipped[at]! ^= 1 << bit;
      return decodeAndParse(flipped);
    }),
    { seed, numRuns: runs },
  );
});

test('parseRequest and parseReply: arbitrary JSON headers, deep nesting and huge numbers give a value or a typed refusal', () => {
  const header = fc.oneof(
    fc.jsonValue({ maxDepth: 6 }),
    fc.record({
      v: fc.constantFrom(2, 1, '2', null),
      op: fc.constantFrom('dense', 'bm25', 'bm25-stats', 'passages', 'x'),
      k: fc.oneof(fc.integer(), fc.double()),
      nq: fc.anything(),
    }),
  );
  fc.assert(
    fc.property(header, (h) => onlyContractErrors(() => parseRequest(h)) && onlyContractErrors(() => parseReply(ShardSearchHeaderSchema, h))),
    { seed, numRuns: runs },
  );
  // Nesting far past any schema's depth, as a frame: refused, not a stack overflow.
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const frame = new Uint8Array(4 + deep.length);
  new DataView(frame.buffer).setUint32(0, deep.length, true);
  frame.set(Buffer.from(deep), 4);
  assert.ok(onlyContractErrors(() => parseRequest(decodeFrame(frame).header)));
  assert.ok(onlyContractErrors(() => parseRequest(decodeFrame(encodeFrame({ v: 2, op: 'dense', k: 1e308, nq: Number.MAX_SAFE_INTEGER })).header)));
});
