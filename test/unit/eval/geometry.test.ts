import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossTowerGap, positiveGeometry, rowDot, uniformity } from '../../../eval/index.js';

/* Each tower-geometry quantity against a hand computation on unit vectors in 2-d. */

const s = Math.SQRT1_2;

test('rowDot: the inner product of one row of each matrix', () => {
  const a = new Float32Array([1, 0, s, s]);
  const b = new Float32Array([0, 1, 1, 0]);
  assert.equal(rowDot(a, 0, b, 1, 2), 1);
  assert.ok(Math.abs(rowDot(a, 1, b, 0, 2) - s) < 1e-7);
});

test('positiveCosine and alignment: cos 1 and cos 0 pairs → mean 0.5, alignment 2 − 2·0.5 = 1; no pairs → 0 and 2', () => {
  assert.deepEqual(positiveGeometry(1 + 0, 2), { positiveCosine: 0.5, alignment: 1 });
  assert.deepEqual(positiveGeometry(0, 0), { positiveCosine: 0, alignment: 2 });
});

test('uniformity: orthogonal pair → log exp(−4) = −4; identical pair → log exp(0) = 0; three rows average their pairs', () => {
  assert.ok(Math.abs(uniformity(new Float32Array([1, 0, 0, 1]), [0, 1], 2) + 4) < 1e-9);
  assert.ok(Math.abs(uniformity(new Float32Array([1, 0, 1, 0]), [0, 1], 2)) < 1e-9);
  // Rows e1, e2, −e1: pairs at squared distance 2, 4, 2 → log((e^−4 + e^−8 + e^−4) / 3).
  const expected = Math.log((2 * Math.exp(-4) + Math.exp(-8)) / 3);
  assert.ok(Math.abs(uniformity(new Float32Array([1, 0, 0, 1, -1, 0]), [0, 1, 2], 2) - expected) < 1e-9);
  assert.equal(uniformity(new Float32Array([1, 0]), [0], 2), 0);
});

test('crossTowerGap: the same text at 0°, 90° and 45° between the towers → mean of 0, 1 and 1 − √½', () => {
  const queryView = new Float32Array([1, 0, 1, 0, 1, 0]);
  const itemView = new Float32Array([1, 0, 0, 1, s, s]);
  assert.ok(Math.abs(crossTowerGap(queryView, itemView, 3, 2) - (0 + 1 + (1 - s)) / 3) < 1e-7);
  assert.equal(crossTowerGap(queryView, queryView, 3, 2), 0, 'shared towers have no gap');
  assert.equal(crossTowerGap(queryView, itemView, 0, 2), 0);
});
