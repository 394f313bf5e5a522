import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { longTailSlice } from '../../../pipeline/analysis.js';
import { parseQrels } from '../../../eval/index.js';
import { readSynsetTagCounts } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';

test('WordNet sense-tag counts per synset: the senses of a synset summed, keyed offset-ss_type', (t) => {
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'index.sense'),
    ['dog%1:05:00:: 02084071 1 42', 'domestic_dog%1:05:00:: 02084071 1 0', 'bark%2:32:00:: 01047745 1 3', 'able%5:00:00:capable:00 00001740 1 7', ''].join(
      '\n',
    ),
  );
  const counts = readSynsetTagCounts(dir)!;
  assert.equal(counts.get('02084071-n'), 42);
  assert.equal(counts.get('01047745-v'), 3);
  assert.equal(counts.get('00001740-s'), 7);
  assert.equal(readSynsetTagCounts(join(dir, 'nowhere')), null);
});

test('long-tail slice: Recall@10 per tag-count bucket over the queries of that bucket, by hand', () => {
  const qrels = parseQrels('q1 a 1\nq2 b 1\nq3 c 1\nq4 d 1\n');
  const tags = new Map([
    ['a', 0],
    ['b', 0],
    ['c', 3],
    ['d', 50],
  ]);
  const run = new Map([
    ['q1', [{ docId: 'a' }]],
    ['q2', [{ docId: 'x' }]],
    ['q3', [{ docId: 'c' }]],
    ['q4', [{ docId: 'y' }]],
  ]);
  const slice = longTailSlice(new Map([['flat', run]]), qrels, tags);
  assert.deepEqual(
    slice.map((b) => [b.bucket, b.queries, b.recallAt10.flat]),
    [
      ['0', 2, 0.5],
      ['1-4', 1, 1],
      ['5-19', 0, 0],
      ['20+', 1, 0],
    ],
  );
});
