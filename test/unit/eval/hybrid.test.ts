import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateHybrid, fuseKeptRuns, type KeptRun } from '../../../eval/index.js';
import { reciprocalRankFusion } from '../../../search/index.js';

/*
 * `sci eval --hybrid`: the dense row's and BM25's kept rankings fused per
 * query in the order the search service serves a hybrid request (ties in
 * the fused score to the smaller row id), and measured as any row is.
 */

const kept = (lists: Record<string, number[]>): KeptRun =>
  new Map(Object.entries(lists).map(([q, rows]) => [q, rows.map((rowId, r) => ({ rowId, docId: `d${rowId}`, score: 10 - r }))]));

test("the hybrid row's order is the search service's reciprocal rank fusion, ties included", () => {
  // q1: rows 3 and 7 tie (ranks 1+2 and 2+1); 9 and 8 tie (rank 3 in one list only): smaller row id first.
  const dense = kept({ q1: [7, 3, 9, 1], q2: [5] });
  const bm25 = kept({ q1: [3, 7, 8], q2: [] });
  const fused = fuseKeptRuns(dense, bm25, 10);
  assert.deepEqual(
    fused.get('q1')!.map((h) => h.rowId),
    [3, 7, 8, 9, 1],
  );
  assert.deepEqual(
    fused.get('q2')!.map((h) => h.rowId),
    [5],
    'a query BM25 matched nothing keeps its dense ranking',
  );
  const service = reciprocalRankFusion(
    [
      { hits: [7, 3, 9, 1].map((rowId) => ({ rowId, externalId: `d${rowId}`, score: 0, shard: 0 })), weight: 1 },
      { hits: [3, 7, 8].map((rowId) => ({ rowId, externalId: `d${rowId}`, score: 0, shard: 0 })), weight: 1 },
    ],
    10,
  );
  assert.deepEqual(
    fused.get('q1')!.map((h) => [h.rowId, h.score]),
    service.map((h) => [h.rowId, h.score]),
  );
  assert.equal(fused.get('q1')![0]!.score, 1 / 61 + 1 / 62);
});

test('the hybrid row is measured on the fused ranking: a relevant passage only BM25 found counts', () => {
  const dense = kept({ q1: [1, 2, 3], q2: [4, 5] });
  const bm25 = kept({ q1: [9], q2: [6] });
  const qrels = new Map([
    ['q1', new Map([['d9', 1]])],
    ['q2', new Map([['d4', 1]])],
  ]);
  const { report, run } = evaluateHybrid(
    new Map([
      ['flat', dense],
      ['bm25', bm25],
    ]),
    'flat',
    'bm25',
    qrels,
    10,
  );
  // q1: d9 at rank 1 of BM25 → 1/61, ties d1 (rank 1 of dense): row 1 first, d9 second. q2: d4 first.
  assert.deepEqual(
    run.get('q1')!.map((h) => h.externalId),
    ['d1', 'd9', 'd2', 'd3'],
  );
  assert.equal(report.metrics.queries, 2);
  assert.equal(report.metrics['Recall@10'], 1);
  assert.equal(report.metrics['MRR@10'], (1 / 2 + 1) / 2);
  assert.deepEqual([report.dense, report.lexical, report.c, report.weights], ['flat', 'bm25', 60, { dense: 1, lexical: 1 }]);
  assert.throws(() => evaluateHybrid(new Map([['flat', dense]]), 'flat', 'bm25', qrels, 10), /needs both flat and bm25 evaluated/);
});
