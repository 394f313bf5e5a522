import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pairedBootstrap, pearson, signTest, spearman } from '../../../eval/index.js';

/* The paired statistics against hand computations and against what a resample cannot change. */

test('signTest: wins, losses and ties counted; the exact two-sided binomial p of wins against losses, ties dropped', () => {
  // 9 wins, 1 loss: P(X ≤ 1) = (1 + 10) / 1024, doubled.
  const t = signTest([0.1, 0.2, 0.3, 0.1, 0.1, 0.5, 0.1, 0.1, 0.2, -0.4, 0, 0]);
  assert.deepEqual({ wins: t.wins, losses: t.losses, ties: t.ties }, { wins: 9, losses: 1, ties: 2 });
  assert.ok(Math.abs(t.p - 22 / 1024) < 1e-12, String(t.p));
  // Balanced: p = 1 (capped); all ties: p = 1.
  assert.equal(signTest([1, -1, 2, -2]).p, 1);
  assert.deepEqual(signTest([0, 0, 0]), { wins: 0, losses: 0, ties: 3, p: 1 });
  // 20 wins, 0 losses: 2 / 2^20.
  assert.ok(Math.abs(signTest(new Array<number>(20).fill(1)).p - 2 / 2 ** 20) < 1e-15);
});

test('signTest stays exact for tens of thousands of pairs (log-space sum)', () => {
  const diffs = [...new Array<number>(10_050).fill(1), ...new Array<number>(9_950).fill(-1)];
  const { p } = signTest(diffs);
  // Normal approximation with continuity correction: z = (10050 − 10000 − 0.5) / sqrt(20000 / 4) = 0.7000; two-sided 0.4839.
  assert.ok(Math.abs(p - 0.4839) < 0.002, String(p));
});

test('pairedBootstrap: the mean of all differences; a constant difference has a zero-width interval; the interval holds the mean', () => {
  const constant = pairedBootstrap([new Float32Array([0.25, 0.25, 0.25]), new Float32Array([0.25])], { resamples: 200 });
  assert.deepEqual([constant.mean, constant.low, constant.high], [0.25, 0.25, 0.25]);
  const groups = [Float32Array.from({ length: 400 }, (_, i) => (i % 4 === 0 ? 1 : 0)), Float32Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? 1 : -1))];
  const b = pairedBootstrap(groups, { resamples: 1000, seed: 7 });
  assert.ok(Math.abs(b.mean - (100 + 0) / 800) < 1e-12);
  assert.ok(b.low < b.mean && b.mean < b.high, JSON.stringify(b));
  // Standard error of the mean = sqrt((400·0.1875 + 400·1) / 800²) = 0.0272: a 95% interval about 0.107 wide.
  assert.ok(b.high - b.low > 0.09 && b.high - b.low < 0.18, JSON.stringify(b));
  // Seeded: the same interval again.
  assert.deepEqual(pairedBootstrap(groups, { resamples: 1000, seed: 7 }), b);
});

test('pairedBootstrap resamples within each group: a group of +1s and a group of −1s always give a mean of their sizes', () => {
  const b = pairedBootstrap([new Float32Array(30).fill(1), new Float32Array(10).fill(-1)], { resamples: 300 });
  assert.deepEqual([b.mean, b.low, b.high], [0.5, 0.5, 0.5]);
});

test('pearson and spearman: by hand, with ties at mean ranks', () => {
  assert.ok(Math.abs(pearson([1, 2, 3], [2, 4, 6]) - 1) < 1e-12);
  assert.ok(Math.abs(pearson([1, 2, 3], [3, 2, 1]) + 1) < 1e-12);
  // x = 1,2,3,4; y = 1,3,2,4: cov 2.5 / sqrt(5·5) = 0.8.
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [1, 3, 2, 4]) - 0.8) < 1e-12);
  // Monotone but not linear: spearman 1.
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 8, 27, 1000]) - 1) < 1e-12);
  // y ranks with a tie: 1, 2.5, 2.5, 4 → pearson of (1,2,3,4) and those.
  const expected = pearson([1, 2, 3, 4], [1, 2.5, 2.5, 4]);
  assert.ok(Math.abs(spearman([10, 20, 30, 40], [5, 7, 7, 9]) - expected) < 1e-12);
  assert.equal(pearson([1, 1, 1], [1, 2, 3]), 0);
  assert.throws(() => pearson([1], [1, 2]), RangeError);
});
