import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuseRankings } from '../../../pipeline/fuse.js';
import { reciprocalRankFusion } from '../../../search/index.js';

/* The fused row's reciprocal rank fusion, by hand, and the same order `sci search --hybrid` serves. */

test('reciprocal rank fusion of two rankings: Σ w / (60 + rank), by hand; ties by document id', () => {
  // a: 1/61 + 1/62; b: 1/62 + 1/61 (tied with a); c: 1/63; d: 1/63 (tied with c).
  assert.deepEqual(
    fuseRankings(
      [
        { docIds: ['a', 'b', 'c'], weight: 1 },
        { docIds: ['b', 'a', 'd'], weight: 1 },
      ],
      10,
    ),
    ['a', 'b', 'c', 'd'],
  );
  // A weight moves a ranking's documents up: 2/63 > 1/61.
  assert.deepEqual(
    fuseRankings(
      [
        { docIds: ['x'], weight: 1 },
        { docIds: ['p', 'q', 'y'], weight: 2 },
      ],
      2,
    ),
    ['p', 'q'],
  );
});

test("the same fused order as the search service's fusion, where no scores tie", () => {
  const dense = [7, 3, 9, 1, 4];
  const bm25 = [3, 8, 1, 6];
  const fromService = reciprocalRankFusion(
    [
      { hits: dense.map((rowId) => ({ rowId, shard: 0, score: 0, externalId: `d${rowId}` })), weight: 1 },
      { hits: bm25.map((rowId) => ({ rowId, shard: 0, score: 0, externalId: `d${rowId}` })), weight: 1 },
    ] as never,
    5,
  ).map((h: { rowId: number }) => `d${h.rowId}`);
  const fused = fuseRankings(
    [
      { docIds: dense.map((r) => `d${r}`), weight: 1 },
      { docIds: bm25.map((r) => `d${r}`), weight: 1 },
    ],
    5,
  );
  assert.deepEqual(fused, fromService);
});
