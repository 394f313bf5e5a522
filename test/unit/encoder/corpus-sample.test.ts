import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeSyntheticCorpus, writeSyntheticQueries } from '../../../shards/index.js';
import { loadTrainingData } from '../../../encoder/training/index.js';
import { loadJudgedQueries } from '../../../eval/index.js';
import { tempDir } from '../../support/paths.js';
import { ingestGeneratedTsv } from '../../support/shards.js';

test('a training corpus sample: every judged passage and source negative kept, a seeded uniform share of the rest, the whole corpus without it', async (t) => {
  const dir = tempDir(t);
  const tsv = join(dir, 'psgs.tsv');
  writeSyntheticCorpus(tsv, { rows: 6000, seed: 2 });
  const set = join(dir, 'passages');
  await ingestGeneratedTsv(tsv, set, 3);
  await writeSyntheticQueries(set, { splits: { train: 400, dev: 100, test: 100 }, seed: 3 });

  const whole = await loadTrainingData(set, { trainSplit: 'train', devSplit: 'dev' });
  assert.equal(whole.corpus.texts.length, 6000);
  const options = { trainSplit: 'train', devSplit: 'dev', corpusSample: 3000, seed: 9 };
  const sampled = await loadTrainingData(set, options);
  const n = sampled.corpus.texts.length;
  assert.ok(n > 2800 && n < 3200, `${n} passages kept for a sample of 3000`);
  // Nothing a judgment or a negative names is lost: the same pairs, dev queries and negatives as the whole corpus.
  assert.equal(sampled.pairs.length, whole.pairs.length);
  for (const split of ['dev', 'test'])
    for (const judged of loadJudgedQueries({ queries: set, split }).qrels.values())
      for (const passageId of judged.keys()) assert.ok(sampled.corpus.position.has(passageId), `${split} passage ${passageId}`);
  const negatives = (data: typeof whole) => whole.pairs.reduce((sum, p) => sum + data.sourceNegatives.negativesOf(p.queryId).length, 0);
  assert.equal(negatives(sampled), negatives(whole));
  assert.ok(negatives(whole) > 400);
  // Positions and texts agree, and the sample is seeded.
  for (const [id, at] of sampled.corpus.position) assert.equal(sampled.corpus.texts[at], whole.corpus.texts[whole.corpus.position.get(id)!]);
  assert.deepEqual((await loadTrainingData(set, options)).corpus.externalIds, sampled.corpus.externalIds);
  assert.notDeepEqual((await loadTrainingData(set, { ...options, seed: 10 })).corpus.externalIds, sampled.corpus.externalIds);
  // A sample at least the corpus's size is the whole corpus, in order.
  assert.deepEqual((await loadTrainingData(set, { ...options, corpusSample: 6000 })).corpus.externalIds, whole.corpus.externalIds);
});
