import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeNegatives, type NegativeRow } from '../../../mine/index.js';

const row = (queryId: string, rank: number, source = 'bm25', stage = 'bm25'): NegativeRow => ({
  queryId,
  rowId: rank,
  passageId: `p${rank}`,
  rank,
  score: 1 / rank,
  positiveScore: null,
  shard: 0,
  stage,
  source,
  checkpoint: null,
  step: null,
});

test('the inspect summary: rank buckets, sources and per-query counts', () => {
  const rows = [row('a', 1), row('a', 12), row('a', 150), row('b', 3, 'dense:flat', 'round-1'), row('b', 250, 'dense:flat', 'round-1')];
  const s = summarizeNegatives(rows);
  assert.equal(s.rows, 5);
  assert.equal(s.queries, 2);
  assert.deepEqual(s.perQuery, { min: 2, mean: 2.5, max: 3 });
  assert.deepEqual(
    s.byRank.map((b) => [b.bucket, b.rows]),
    [
      ['1-10', 2],
      ['11-50', 1],
      ['51-100', 0],
      ['101-200', 1],
      ['201+', 1],
    ],
  );
  assert.deepEqual(
    s.bySource.map((x) => [x.source, x.stage, x.rows]),
    [
      ['bm25', 'bm25', 3],
      ['dense:flat', 'round-1', 2],
    ],
  );
});
