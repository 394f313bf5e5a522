import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EmbeddingShardWriter } from '../../../encoder/index.js';
import { fromHalf, halfBits, halfValue, readArrowVectors, toHalf } from '../../../vectors/index.js';
import { tempDir } from '../../support/paths.js';
import { seededRandom } from '../../../common/index.js';

/* binary16 storage of embeddings: exact round trips, nearest rounding (ties to even), and f16 Arrow shards read back as float32. */

test('every half widens to a float32 that narrows back to the same bits; known values by hand', () => {
  for (let bits = 0; bits < 65536; bits++) {
    const value = halfValue(bits);
    if (Number.isNaN(value)) assert.ok(Number.isNaN(halfValue(halfBits(value))), `NaN ${bits}`);
    else assert.equal(halfBits(value), bits, `bits ${bits} (${value})`);
  }
  assert.equal(halfBits(1), 0x3c00);
  assert.equal(halfBits(-2), 0xc000);
  assert.equal(halfBits(65504), 0x7bff, 'the largest half');
  assert.equal(halfBits(65520), 0x7c00, 'halfway above it rounds to infinity');
  assert.equal(halfBits(2 ** -24), 0x0001, 'the smallest subnormal');
  assert.equal(halfBits(2 ** -26), 0x0000, 'below half of it: zero');
  // 1 + 2⁻¹¹ is halfway between 1 and 1 + 2⁻¹⁰: ties to even (1); 1 + 3·2⁻¹¹ goes up to 1 + 2·2⁻¹⁰.
  assert.equal(halfBits(1 + 2 ** -11), 0x3c00);
  assert.equal(halfBits(1 + 3 * 2 ** -11), 0x3c02);
});

test('rounding is to the nearest half: no other half is closer, for 100,000 random values of embedding size', () => {
  const random = seededRandom(7);
  const values = Float32Array.from({ length: 100_000 }, () => (random() * 2 - 1) * 0.3);
  const back = fromHalf(toHalf(values));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const h = halfBits(v);
    const error = Math.abs(back[i]! - v);
    for (const neighbour of [h - 1, h + 1]) if ((neighbour & 0x7fff) <= 0x7bff) assert.ok(Math.abs(halfValue(neighbour) - v) >= error, `value ${v}`);
    assert.ok(error <= Math.abs(v) * 2 ** -11 + 2 ** -25, `relative error of ${v}`);
  }
});

test('an f16 embedding shard is half the vector bytes and reads back as the rounded float32 vectors', (t) => {
  const dir = tempDir(t);
  const random = seededRandom(3);
  const dim = 64;
  const rows = 500;
  const vectors = Float32Array.from({ length: rows * dim }, () => random() - 0.5);
  const write = (dtype: 'f32' | 'f16') => {
    const writer = new EmbeddingShardWriter(join(dir, `${dtype}.arrow`), dim, ['embedding'], {}, dtype);
    writer.write(
      Array.from({ length: rows }, (_, i) => i),
      Array.from({ length: rows }, (_, i) => `p${i}`),
      [vectors],
    );
    return writer.commit();
  };
  const f32 = write('f32');
  const f16 = write('f16');
  const vectorBytes = rows * dim * 4;
  assert.ok(f32.bytes - f16.bytes >= vectorBytes / 2 - 64, `${f32.bytes} → ${f16.bytes} bytes`);
  const read = readArrowVectors(join(dir, 'f16.arrow'), 'embedding');
  assert.equal(read.dim, dim);
  assert.deepEqual(read.data, fromHalf(toHalf(vectors)));
  assert.deepEqual(
    Array.from(read.ids!),
    Array.from({ length: rows }, (_, i) => BigInt(i)),
  );
});
