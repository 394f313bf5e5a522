import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSynsetGraph, paraphrasedQuery, readManifest, readQueriesFile, writeSyntheticCorpus, writeSyntheticQueries } from '../../../shards/index.js';
import { seededRandom } from '../../../common/index.js';
import { loadJudgedQueries } from '../../../eval/index.js';
import { tempDir } from '../../support/paths.js';
import { ingestGeneratedTsv } from '../../support/shards.js';

const { synonyms } = loadSynsetGraph();

/** Whether `query` is a run of `passage`'s words with some words swapped for one of their synonyms. */
function paraphraseOf(query: string, passage: string): boolean {
  const q = query.split(' ');
  const p = passage.split(' ');
  for (let start = 0; start + q.length <= p.length; start++)
    if (q.every((word, i) => word === p[start + i] || (synonyms.get(p[start + i]!) ?? []).includes(word))) return true;
  return false;
}

test('a paraphrased query: a run of the passage, words swapped only for their WordNet synonyms', () => {
  const passage = 'the big dog ran quickly across the large field near the old house at dusk';
  assert.equal(paraphrasedQuery(passage, synonyms, seededRandom(1), { words: 20, replace: 0 }).text, passage);
  const all = paraphrasedQuery(passage, synonyms, seededRandom(2), { words: 6, replace: 1 });
  assert.equal(all.text.split(' ').length, 6);
  assert.ok(paraphraseOf(all.text, passage), all.text);
  const swappable = all.text.split(' ').length;
  assert.ok(all.replaced > 0 && all.replaced <= swappable, `${all.replaced} replaced`);
  assert.ok(synonyms.get('dog')!.includes('domestic') === false && synonyms.get('big')!.includes('large'));
});

test('sci generate queries: queries cut from distinct passages, judged relevant to their source, written into the set and its manifest', async (t) => {
  const dir = tempDir(t);
  const tsv = join(dir, 'psgs.tsv');
  writeSyntheticCorpus(tsv, { rows: 3000, seed: 5 });
  const out = join(dir, 'passages');
  await ingestGeneratedTsv(tsv, out, 3);
  const result = await writeSyntheticQueries(out, { splits: { train: 300, dev: 50, test: 50 }, seed: 7 });
  assert.deepEqual(result.splits, { train: 300, dev: 50, test: 50 });
  assert.ok(result.meanReplaced > 1 && result.meanReplaced < 8, `${result.meanReplaced} words swapped a query`);

  const { manifest } = readManifest(out);
  assert.equal(manifest.queries?.rowsWritten, 400);
  assert.deepEqual(manifest.queries?.splits, { train: 300, dev: 50, test: 50 });
  assert.deepEqual(Object.keys(manifest.qrels!.splits), ['dev', 'test', 'train']);
  const texts = new Map(
    readFileSync(tsv, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split('\t') as [string, string]),
  );
  const queries = readQueriesFile(join(out, 'queries.jsonl'));
  const sources = new Set<string>();
  for (const split of ['train', 'dev', 'test'] as const) {
    const { sample, qrels } = loadJudgedQueries({ queries: out, split });
    assert.equal(sample.ids.length, manifest.queries!.splits[split]);
    sample.ids.forEach((id, i) => {
      const judged = [...qrels.get(id)!.keys()];
      assert.equal(judged.length, 1);
      sources.add(judged[0]!);
      assert.equal(sample.texts[i]!.split(' ').length, 12);
      assert.ok(paraphraseOf(sample.texts[i]!, texts.get(judged[0]!)!), `${id}: "${sample.texts[i]}" is not a paraphrase of passage ${judged[0]}`);
    });
  }
  assert.equal(sources.size, 400, 'every query from its own passage');
  // Hard negatives: training queries only, passages of the source's article next to it, never the source.
  const titles = new Map(
    readFileSync(tsv, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => [line.split('\t')[0]!, line.split('\t')[2]!]),
  );
  const train = loadJudgedQueries({ queries: out, split: 'train' }).qrels;
  const negatives = readFileSync(join(out, manifest.negatives!.splits.train!.path), 'utf8').trimEnd().split('\n').slice(1);
  assert.equal(negatives.length, result.negatives);
  assert.ok(negatives.length > 300, `${negatives.length} negatives for 300 training queries`);
  for (const line of negatives) {
    const [queryId, passageId, kind] = line.split('\t') as [string, string, string];
    const source = [...train.get(queryId)!.keys()][0]!;
    assert.equal(kind, 'article');
    assert.notEqual(passageId, source);
    assert.equal(titles.get(passageId), titles.get(source));
    assert.ok(Math.abs(Number(passageId) - Number(source)) <= 2);
  }
  assert.equal(queries.length, 400);
  // Seeded: the same seed cuts the same queries.
  const again = join(dir, 'again');
  await ingestGeneratedTsv(tsv, again, 2);
  await writeSyntheticQueries(again, { splits: { train: 300, dev: 50, test: 50 }, seed: 7 });
  assert.equal(readFileSync(join(again, 'queries.jsonl'), 'utf8'), readFileSync(join(out, 'queries.jsonl'), 'utf8'));

  await assert.rejects(writeSyntheticQueries(out, { splits: { dev: 5 } }), /already has queries, judgments or negatives/);
  // No training split: no negatives file, none in the manifest.
  const devOnly = join(dir, 'dev-only');
  await ingestGeneratedTsv(tsv, devOnly, 1);
  assert.equal((await writeSyntheticQueries(devOnly, { splits: { dev: 20 } })).negatives, 0);
  assert.equal(readManifest(devOnly).manifest.negatives, null);
  await assert.rejects(writeSyntheticQueries(join(dir, 'none'), { splits: { dev: 5 } }), /cannot read manifest/);
});
