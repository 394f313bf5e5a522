import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { evaluateRun, mrrAtK, ndcgAtK, parseQrels, parseTrecRun, recallAtK, successAtK, writeTrecRun } from '../../../eval/index.js';
import { tempDir } from '../../support/paths.js';

const judged = new Map([
  ['a', 1],
  ['b', 2],
  ['c', 0],
  ['d', 1],
]);

test('nDCG@k, MRR@k, recall@k and success@k against hand-computed values', () => {
  const ranked = ['x', 'b', 'c', 'a', 'y'];
  // DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4).
  const dcg = 2 / Math.log2(3) + 1 / Math.log2(5);
  const idcg = 2 + 1 / Math.log2(3) + 1 / 2;
  assert.ok(Math.abs(ndcgAtK(ranked, judged, 10) - dcg / idcg) < 1e-12);
  assert.ok(Math.abs(ndcgAtK(ranked, judged, 2) - 2 / Math.log2(3) / (2 + 1 / Math.log2(3))) < 1e-12);
  assert.equal(mrrAtK(ranked, judged, 10), 0.5);
  assert.equal(mrrAtK(ranked, judged, 1), 0);
  assert.equal(recallAtK(ranked, judged, 4), 2 / 3);
  assert.equal(successAtK(ranked, judged, 1), 0);
  assert.equal(successAtK(ranked, judged, 2), 1);
});

test('evaluateRun skips queries without relevant documents and averages the rest', () => {
  const qrels = parseQrels('query-id\tcorpus-id\tscore\nq1\ta\t1\nq2\tb\t0\nq3\tc\t1\n');
  const run = new Map([
    ['q1', ['a']],
    ['q3', ['z', 'c']],
  ]);
  const m = evaluateRun(run, qrels, { ndcg: [10], mrr: [10], recall: [1], success: [1] });
  assert.equal(m.queries, 2);
  assert.equal(m['MRR@10'], (1 + 0.5) / 2);
  assert.equal(m['Recall@1'], 0.5);
  assert.equal(m['Success@1'], 0.5);
});

test('TREC run files round trip', async (t) => {
  const path = join(tempDir(t), 'run.txt');
  const lines = await writeTrecRun(
    path,
    [
      {
        queryId: 'q1',
        hits: [
          { docId: 'd9', score: 3.5 },
          { docId: 'd2', score: 1 },
        ],
      },
    ],
    'bm25',
  );
  assert.equal(lines, 2);
  assert.equal(readFileSync(path, 'utf8'), 'q1 Q0 d9 1 3.500000 bm25\nq1 Q0 d2 2 1.000000 bm25\n');
  assert.deepEqual(parseTrecRun(readFileSync(path, 'utf8')).get('q1'), ['d9', 'd2']);
});
