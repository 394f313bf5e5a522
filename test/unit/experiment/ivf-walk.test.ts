import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ivfLayout, walkIvf } from '../../../experiment/index.js';

/*
 * One query's walk through a hand-made IVF layout of six 2-d rows in three
 * lists, measured by hand at every nprobe and every budget of items scanned.
 */

//               row 0       row 1       row 2     row 3      row 4     row 5
const stored = new Float32Array([0.9, 0.1, 0.1, 0.9, 0.8, 0, 0.95, 0, 0.5, 0, 1, 0]);
const layout = ivfLayout([0n, 0n, 1n, 1n, 1n, 2n], 3);
const query = new Float32Array([1, 0]);
// Scores: row 0 0.9, row 1 0.1, row 2 0.8, row 3 0.95, row 4 0.5, row 5 1.0; exact top 2: rows 5, 3.
const base = { dim: 2, stored, layout, query, order: [0, 1, 2], positives: [3], exact: [5, 3], k: 2 };

test('ivfLayout: each list holds its rows in ascending order; a label outside 0..nlist-1 is refused', () => {
  assert.deepEqual(
    layout.lists.map((l) => [...l]),
    [[0, 1], [2, 3, 4], [5]],
  );
  assert.deepEqual([...layout.listOf], [0, 0, 1, 1, 1, 2]);
  assert.throws(() => ivfLayout([0n, 3n], 3), /row 1 is assigned to list 3/);
});

test('walkIvf at every nprobe: probed share, overlap with the exact top k, Recall@k, items scanned', () => {
  const walk = walkIvf({ ...base, nprobes: [1, 2, 3], budgets: [] });
  assert.deepEqual(walk.atNprobe, [
    // List 0: rows 0 (0.9) and 1 (0.1); the positive's list (1) not probed yet.
    { probed: 0, overlap: 0, recall: 0, scanned: 2 },
    // Lists 0, 1: top 2 = rows 3, 0.
    { probed: 1, overlap: 0.5, recall: 1, scanned: 5 },
    { probed: 1, overlap: 1, recall: 1, scanned: 6 },
  ]);
  assert.equal(walk.truncated, false);
});

test('walkIvf at equal items scanned: the longest prefix of lists within the budget, never fewer than one list', () => {
  const walk = walkIvf({ ...base, nprobes: [], budgets: [1, 4, 5, 100] });
  assert.deepEqual(
    walk.atBudget.map((p) => [p.scanned, p.recall, p.overlap]),
    [
      [2, 0, 0], // budget 1: the first list alone (2 items) already exceeds it
      [2, 0, 0], // budget 4: list 1 would bring 5
      [5, 1, 0.5], // budget 5: lists 0 and 1 exactly
      [6, 1, 1], // budget 100: every list (the order holds all of them: exact, not truncated)
    ],
  );
  assert.equal(walk.truncated, false);
});

test('walkIvf: ties keep the smaller row whichever list came first; a probe order shorter than nlist that runs out is flagged', () => {
  const tied = ivfLayout([1n, 0n], 2);
  const walk = walkIvf({
    dim: 2,
    stored: new Float32Array([0.5, 0, 0.5, 0]),
    layout: tied,
    query,
    order: [0, 1],
    positives: [0],
    exact: [0],
    k: 1,
    nprobes: [1, 2],
    budgets: [],
  });
  // List 0 holds row 1 (score 0.5), list 1 row 0 (also 0.5): after both, row 0 wins the tie.
  assert.deepEqual(
    walk.atNprobe.map((p) => p.recall),
    [0, 1],
  );
  const short = walkIvf({ ...base, order: [0], nprobes: [1, 2], budgets: [10] });
  assert.equal(short.truncated, true);
  assert.deepEqual(short.atNprobe[1], short.atNprobe[0]);
  assert.throws(() => walkIvf({ ...base, positives: [], nprobes: [1], budgets: [] }), /at least one positive/);
});
