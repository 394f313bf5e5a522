import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRun, parseQrels, topKOverlap } from '../../../eval/index.js';
import { percentile } from '../../../eval/index.js';

/*
 * A hand-computed fixture for every figure in the evaluation report: the
 * means of Recall@k, Success@k, MRR@10 and nDCG@10 over a run (which queries
 * count, trec_eval's way), the overlap with exact search, and the latency
 * percentiles.
 */

// q1: two relevant (d1 grade 2, d2 grade 1); q2: one relevant (d3); q3: judged, none relevant (skipped);
// q4: one relevant (d9), not in the run (skipped; 0 with `complete`).
const qrels = parseQrels('q1 d1 2\nq1 d2 1\nq1 d5 0\nq2 d3 1\nq3 d4 0\nq4 d9 1\n');
const run = new Map([
  ['q1', ['d2', 'x', 'd1', 'd5']], // relevant at ranks 1 and 3
  ['q2', ['x', 'y', 'z', 'w', 'd3']], // relevant at rank 5
  ['q3', ['d4']],
]);
const ks = { ndcg: [10], mrr: [10], recall: [2, 10], success: [2, 10] };

test('means over the judged queries of the run: every report metric by hand', () => {
  const m = evaluateRun(run, qrels, ks);
  assert.equal(m.queries, 2, 'q3 has no relevant passage, q4 is not in the run');
  // q1: DCG = 1/log2(2) + 2/log2(4) = 2; ideal = 2/log2(2) + 1/log2(3). q2: DCG = 1/log2(6); ideal = 1.
  const ndcg1 = 2 / (2 + 1 / Math.log2(3));
  const ndcg2 = 1 / Math.log2(6);
  assert.ok(Math.abs(m['nDCG@10']! - (ndcg1 + ndcg2) / 2) < 1e-12);
  assert.equal(m['MRR@10'], (1 + 1 / 5) / 2);
  assert.equal(m['Recall@2'], (1 / 2 + 0) / 2);
  assert.equal(m['Recall@10'], (1 + 1) / 2);
  assert.equal(m['Success@2'], (1 + 0) / 2);
  assert.equal(m['Success@10'], 1);
});

test('complete (trec_eval -c): a judged query missing from the run counts as 0', () => {
  const m = evaluateRun(run, qrels, ks, { complete: true });
  assert.equal(m.queries, 3);
  assert.equal(m['Recall@10'], 2 / 3);
  assert.equal(m['MRR@10'], (1 + 1 / 5) / 3);
});

test('a run over a sample averages over the sample, not over every judged query', () => {
  const m = evaluateRun(new Map([['q2', ['d3']]]), qrels, ks);
  assert.equal(m.queries, 1);
  assert.equal(m['Recall@10'], 1);
  assert.equal(evaluateRun(new Map(), qrels, ks)['Recall@10'], 0, 'an empty run has no queries and reports 0');
});

test('overlap with exact search and latency percentiles', () => {
  assert.equal(topKOverlap([1, 2, 3, 9], [3, 2, 1, 4], 3), 1, 'order inside the top k does not matter');
  assert.equal(topKOverlap([1, 2, 9, 3], [3, 2, 1, 4], 3), 2 / 3, 'beyond k does not count');
  assert.equal(topKOverlap([1], [1, 2], 10), 1 / 2, 'a short approximate list misses the rest');
  assert.equal(topKOverlap([1], [], 10), 0);
  // Nearest-rank percentiles of 1..20 ms: p50 = 10th value, p95 = 19th, p99 = 20th.
  const times = Array.from({ length: 20 }, (_, i) => i + 1);
  assert.deepEqual(
    [50, 95, 99].map((p) => percentile(times, p)),
    [10, 19, 20],
  );
  assert.equal(percentile([], 50), 0);
});
