import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSynsetLine, runIngest, WordnetIngester, wordnetSplitOf } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { allPassages, rejectedRows, TEST_INGEST } from '../../support/shards.js';

const TV =
  '06287933 10 n 04 television 0 telecasting 0 TV 0 video 1 002 @ 06287350 n 0000 + 00971538 v 0201 | broadcasting visual images of stationary or moving objects; "she is a star of screen and video"; "Television is a medium because it is neither rare nor well done" - Ernie Kovacs  ';
const HANDY = '00019769 00 s 02 handy 0 ready_to_hand(p) 0 002 & 00019169 a 0000 + 04726275 n 0101 | easy to reach; "found a handy spot for the can opener"  ';

test('a synset line: lemmas, definition without examples, every quoted example', () => {
  assert.deepEqual(parseSynsetLine(TV), {
    id: '06287933-n',
    lemmas: ['television', 'telecasting', 'TV', 'video'],
    definition: 'broadcasting visual images of stationary or moving objects',
    examples: ['she is a star of screen and video', 'Television is a medium because it is neither rare nor well done'],
  });
  assert.deepEqual(parseSynsetLine(HANDY)?.lemmas, ['handy', 'ready to hand']);
  assert.equal(parseSynsetLine(HANDY)?.id, '00019769-s');
  assert.equal(parseSynsetLine('garbage line'), null);
  assert.equal(parseSynsetLine('00019769 00 s 05 handy 0 | too few words'), null);
});

test('the split is a pure function of the synset id with the configured fractions', () => {
  const split = { trainFraction: 0.8, devFraction: 0.1 };
  assert.equal(wordnetSplitOf('06287933-n', split), wordnetSplitOf('06287933-n', split));
  const counts = { train: 0, dev: 0, test: 0 };
  for (let i = 0; i < 20_000; i++) counts[wordnetSplitOf(`${String(i).padStart(8, '0')}-n`, split)] += 1;
  assert.ok(Math.abs(counts.train / 20_000 - 0.8) < 0.02, JSON.stringify(counts));
  assert.ok(Math.abs(counts.dev / 20_000 - 0.1) < 0.02, JSON.stringify(counts));
});

test('a small WordNet folder: license lines skipped, one query and judgment per example', async (t) => {
  const dir = tempDir(t);
  const dict = join(dir, 'dict');
  mkdirSync(dict);
  const license = '  1 This software and database is being provided to you\n  2 by Princeton University\n';
  writeFileSync(join(dict, 'data.noun'), `${license}${TV}\nnot a synset\n`);
  writeFileSync(join(dict, 'data.verb'), license);
  writeFileSync(join(dict, 'data.adj'), `${HANDY}\n`);
  writeFileSync(join(dict, 'data.adv'), '');
  const out = join(dir, 'out');
  const ingester = new WordnetIngester({ trainFraction: 0.8, devFraction: 0.1 }, dict);
  const { manifest } = await runIngest({ ingester, format: 'wordnet', input: dict, outDir: out, layout: { shardCount: 2 }, ...TEST_INGEST });
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [3, 2, 1]);
  assert.deepEqual(manifest.linesSkipped, { license: 4 });
  assert.equal(rejectedRows(out, manifest)[0]?.reason, 'wrong_field_count');
  const passages = await allPassages(out, manifest);
  assert.deepEqual(
    passages.map((p) => [p.externalId, p.title, p.text]),
    [
      ['06287933-n', 'television, telecasting, TV, video', 'broadcasting visual images of stationary or moving objects'],
      ['00019769-s', 'handy, ready to hand', 'easy to reach'],
    ],
  );
  assert.equal(manifest.queries?.rowsWritten, 3);
  assert.equal(manifest.qrels?.rowsWritten, 3);
  const expectedSplit = wordnetSplitOf('06287933-n', { trainFraction: 0.8, devFraction: 0.1 });
  assert.ok((manifest.qrels?.splits[expectedSplit]?.rows ?? 0) >= 2);
});
