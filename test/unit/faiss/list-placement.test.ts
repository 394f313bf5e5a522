import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placeLists } from '../../../faiss/index.js';
import { seededRandom } from '../../support/vectors.js';

test('lists are placed largest first on the least-loaded partition: every list once, balanced, the same every time', () => {
  const random = seededRandom(7);
  // Skewed sizes, as IVF lists are: a few large, many small, some empty.
  const sizes = Array.from({ length: 1024 }, () => Math.floor(1000 * random() ** 4));
  for (const partitions of [1, 3, 16, 64]) {
    const placement = placeLists(sizes, partitions);
    assert.equal(placement.owner.length, sizes.length);
    const load = new Array<number>(partitions).fill(0);
    sizes.forEach((n, l) => (load[placement.owner[l]!]! += n));
    assert.deepEqual(load, placement.load);
    const total = sizes.reduce((a, b) => a + b, 0);
    // LPT: no partition above the mean plus the largest list.
    assert.ok(Math.max(...load) <= total / partitions + Math.max(...sizes), `${partitions}: ${Math.max(...load)}`);
    assert.deepEqual(placeLists(sizes, partitions), placement, 'deterministic');
  }
  assert.deepEqual(placeLists([5, 5, 5, 5], 2).load, [10, 10]);
  // Empty lists spread over partitions too (a cold start has every list empty).
  assert.deepEqual(placeLists([0, 0, 0, 0], 2).owner, [0, 1, 0, 1]);
  assert.throws(() => placeLists([1], 0), /partitions must be a positive integer/);
});
