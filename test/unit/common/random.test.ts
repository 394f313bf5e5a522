import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mixSeed, reservoirSample, seededRandom } from '../../../common/index.js';

test('reservoir sample: k distinct positions in ascending order, the same for the same seed, all of them when k ≥ n', () => {
  const a = reservoirSample(10_000, 300, seededRandom(7));
  assert.equal(a.length, 300);
  assert.equal(new Set(a).size, 300);
  assert.ok(a.every((v, i) => v >= 0 && v < 10_000 && (i === 0 || v > a[i - 1]!)));
  assert.deepEqual(reservoirSample(10_000, 300, seededRandom(7)), a);
  assert.notDeepEqual(reservoirSample(10_000, 300, seededRandom(8)), a);
  assert.deepEqual(reservoirSample(5, 9, seededRandom(1)), [0, 1, 2, 3, 4]);
  assert.deepEqual(reservoirSample(5, 0, seededRandom(1)), []);
});

test('reservoir sample is uniform: every position is drawn about k/n of the time', () => {
  const n = 50;
  const k = 10;
  const draws = 4000;
  const counts = new Array<number>(n).fill(0);
  for (let s = 0; s < draws; s++) for (const i of reservoirSample(n, k, seededRandom(mixSeed(3, s)))) counts[i]! += 1;
  // Expected 800 per position (sd ≈ 25): a chi-square over 49 degrees of freedom stays far below 100 when uniform.
  const expected = (draws * k) / n;
  const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
  assert.ok(chi2 < 100, `chi-square ${chi2.toFixed(1)}; counts ${counts.join(' ')}`);
  // The first and last positions are not favoured (Algorithm R's classic slip would be).
  assert.ok(Math.abs(counts[0]! - expected) < 120 && Math.abs(counts[n - 1]! - expected) < 120, `${counts[0]} / ${counts[n - 1]}`);
});
