import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { NegativesWriter, openMinedNegatives, type NegativeRow } from '../../../mine/index.js';
import { seededRandom } from '../../../common/index.js';
import { tempDir } from '../../support/paths.js';

/*
 * Mined negatives as training draws them: files mixed by weight, judged
 * positives and passages outside the corpus dropped, draws deterministic
 * for a seeded random source.
 */

const row = (queryId: string, passageId: string, rank: number): NegativeRow => ({
  queryId,
  rowId: rank,
  passageId,
  rank,
  score: 1,
  positiveScore: null,
  shard: 0,
  stage: 's',
  source: 'bm25',
  checkpoint: null,
  step: null,
});

function write(path: string, rows: NegativeRow[]): string {
  const w = new NegativesWriter(path);
  w.add(rows);
  w.commit();
  return path;
}

test('files mix by weight; judged positives and unknown passages are never drawn', (t) => {
  const dir = tempDir(t);
  const corpus = {
    externalIds: ['a', 'b', 'c', 'd'],
    texts: ['A', 'B', 'C', 'D'],
    position: new Map([
      ['a', 0],
      ['b', 1],
      ['c', 2],
      ['d', 3],
    ]),
  };
  const bm25 = write(join(dir, 'bm25.arrow'), [row('q1', 'a', 1), row('q1', 'b', 2), row('q1', 'zz', 3)]);
  const dense = write(join(dir, 'dense.arrow'), [row('q1', 'c', 1), row('q1', 'd', 2), row('q2', 'a', 1)]);
  // q1's judged positive is d: a file that lists it must not teach it.
  const judged = (q: string) => (q === 'q1' ? new Set([3]) : new Set<number>());
  const source = openMinedNegatives(
    [
      { path: bm25, weight: 1 },
      { path: dense, weight: 3 },
    ],
    corpus,
    judged,
  );
  assert.deepEqual(
    source.stats.map((s) => [s.rows, s.dropped, s.queries]),
    [
      [3, 1, 1],
      [3, 1, 2],
    ],
  );
  assert.deepEqual([...source.negativesOf('q1')].sort(), [0, 1, 2]);
  const random = seededRandom(7);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[source.pick('q1', random)!]! += 1;
  assert.equal(counts[3], 0, 'the judged positive is never drawn');
  // Weight 1 : 3 → a and b share 1/4, c (the dense file's only usable row) gets 3/4.
  assert.ok(Math.abs(counts[2]! / 4000 - 0.75) < 0.03, `dense share ${counts[2]! / 4000}`);
  assert.ok(Math.abs((counts[0]! + counts[1]!) / 4000 - 0.25) < 0.03);
  assert.equal(source.pick('unknown', random), null);
  const again = openMinedNegatives([{ path: dense, weight: 1 }], corpus, judged);
  const draw = (seed: number) => Array.from({ length: 5 }, (_, i, r = seededRandom(seed + i)) => again.pick('q1', r));
  assert.deepEqual(draw(1), draw(1), 'deterministic for the same seed');
});
