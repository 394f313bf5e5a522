import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NegativeFilterSchema, selectNegatives } from '../../../mine/select.js';
import type { Hit } from '../../../search/index.js';

/*
 * The negative-selection rules on hand-made candidate lists: global merge
 * order, each rule's removals counted, ranks kept global, deterministic
 * sampling that prefers (SimANS) negatives scoring near the positive.
 */

const hit = (rowId: number, score: number, shard: number): Hit => ({ rowId, externalId: `p${rowId}`, score, shard });
// Two shards, inner-product scores; the global order is 1 (0.9), 2 (0.8), 3 (0.7), 4 (0.6), 5 (0.5), 6 (0.4).
const lists = [
  [hit(1, 0.9, 0), hit(3, 0.7, 0), hit(5, 0.5, 0)],
  [hit(2, 0.8, 1), hit(4, 0.6, 1), hit(6, 0.4, 1)],
];
const none = NegativeFilterSchema.parse({});

test('merges shards into the global order and always removes judged positives', () => {
  const s = selectNegatives(0, lists, 10, true, new Set(['p2']), 0.8, none);
  assert.deepEqual(
    s.negatives.map((n) => [n.rowId, n.rank]),
    [
      [1, 1],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ],
  );
  assert.equal(s.removed.positive, 1);
  assert.equal(s.positivesInTopK, 1);
  // k bounds the global list before filtering.
  assert.deepEqual(
    selectNegatives(0, lists, 3, true, new Set(), null, none).negatives.map((n) => n.rowId),
    [1, 2, 3],
  );
});

test('skipTop, window and near-positive margin each remove what they say, counted', () => {
  const filter = NegativeFilterSchema.parse({ skipTop: 1, window: { from: 1, to: 5 }, nearPositiveMargin: 0.15 });
  // Positive row 2 scores 0.8: rank 1 skipped, rank 6 outside the window, 0.7 ≥ 0.8 − 0.15 is too close.
  const s = selectNegatives(0, lists, 10, true, new Set(['p2']), 0.8, filter);
  assert.deepEqual(
    s.negatives.map((n) => n.rowId),
    [4, 5],
  );
  assert.deepEqual(s.removed, { positive: 1, answer: 0, skipTop: 1, window: 1, nearPositive: 1, sample: 0 });
  // For L2 (lower is better) "too close" means a distance at most the positive's plus the margin.
  const l2 = [[hit(7, 1.0, 0), hit(8, 1.05, 0), hit(9, 2.0, 0)]];
  assert.deepEqual(
    selectNegatives(0, l2, 10, false, new Set(['p7']), 1.0, NegativeFilterSchema.parse({ nearPositiveMargin: 0.1 })).negatives.map((n) => n.rowId),
    [9],
  );
});

test('sampling keeps n in rank order, is deterministic per (seed, query), and SimANS prefers scores near the positive', () => {
  const many = [Array.from({ length: 100 }, (_, i) => hit(i + 10, 1 - i / 100, 0))];
  const uniform = NegativeFilterSchema.parse({ sample: { n: 10, seed: 3 } });
  const a = selectNegatives(5, many, 100, true, new Set(), null, uniform);
  const b = selectNegatives(5, many, 100, true, new Set(), null, uniform);
  assert.deepEqual(a.negatives, b.negatives);
  assert.equal(a.negatives.length, 10);
  assert.equal(a.removed.sample, 90);
  assert.deepEqual(
    a.negatives.map((n) => n.rank),
    [...a.negatives.map((n) => n.rank)].sort((x, y) => x - y),
  );
  assert.notDeepEqual(selectNegatives(6, many, 100, true, new Set(), null, uniform).negatives, a.negatives, 'another query draws differently');
  // SimANS around s⁺ − 0.3 with a sharp a: the draws concentrate near score 0.5 + … (positive 0.8).
  const simans = NegativeFilterSchema.parse({ sample: { n: 10, by: 'simans', a: 200, b: -0.3, seed: 3 } });
  let near = 0;
  for (let q = 0; q < 20; q++) {
    for (const n of selectNegatives(q, many, 100, true, new Set(), 0.8, simans).negatives) if (Math.abs(n.score - 0.5) <= 0.1) near += 1;
  }
  assert.ok(near >= 180, `${near}/200 SimANS draws within 0.1 of s⁺ + b`);
});

test('the filter contract refuses a reversed window', () => {
  assert.throws(() => NegativeFilterSchema.parse({ window: { from: 10, to: 2 } }), /window\.from must not exceed window\.to/);
});

test("DPR's has_answer: a passage containing an answer is removed like a positive, token-exact and uncased", async () => {
  const { hasAnswer } = await import('../../../mine/index.js');
  assert.equal(hasAnswer('Lakes connect to the Atlantic Ocean through the Saint Lawrence River.', ['the Saint Lawrence River']), true);
  assert.equal(hasAnswer('the saint lawrence river-basin', ['The Saint Lawrence River']), true);
  assert.equal(hasAnswer('the Saint Lawrence Rivers', ['the Saint Lawrence River']), false, 'token match, not substring');
  assert.equal(hasAnswer('released July 5, 2018 in Japan', ['July 5 , 2018']), true, 'punctuation is its own token');
  const marked = [[{ ...hit(1, 0.9, 0), hasAnswer: true }, hit(3, 0.7, 0)], [hit(2, 0.8, 1)]];
  const s = selectNegatives(0, marked, 10, true, new Set(), null, none);
  assert.deepEqual(
    s.negatives.map((n) => n.rowId),
    [2, 3],
  );
  assert.equal(s.removed.answer, 1);
  assert.equal(selectNegatives(0, marked, 10, true, new Set(), null, NegativeFilterSchema.parse({ answers: false })).negatives.length, 3);
});
