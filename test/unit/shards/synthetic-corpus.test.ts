import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSynsetGraph, textWords, writeSyntheticCorpus } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { ingestGeneratedTsv } from '../../support/shards.js';

test('the zipf corpus: psgs_w100-shaped, 100 words a passage, Zipf words, articles of passages, seeded, ingestable', async (t) => {
  const dir = tempDir(t);
  const rows = 3000;
  const files = [1, 1, 2].map((seed, i) => {
    const file = join(dir, `psgs-${i}.tsv`);
    const bytes = writeSyntheticCorpus(file, { rows, seed, kind: 'zipf' });
    assert.equal(bytes, readFileSync(file).length);
    return readFileSync(file, 'utf8');
  });
  assert.equal(files[0], files[1], 'the same seed writes the same file');
  assert.notEqual(files[0], files[2]);
  const lines = files[0]!.trimEnd().split('\n');
  assert.equal(lines[0], 'id\ttext\ttitle');
  assert.equal(lines.length, rows + 1);
  const counts = new Map<string, number>();
  const titles: string[] = [];
  lines.slice(1).forEach((line, i) => {
    const [id, text, title] = line.split('\t') as [string, string, string];
    assert.equal(id, String(i + 1));
    const words = text.split(' ');
    assert.equal(words.length, 100, `passage ${id}`);
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    assert.match(title, /^[A-Z]/);
    titles.push(title);
  });
  // Zipf over ~100k+ lemmas: the commonest word is several percent of the text, and the vocabulary is wide.
  const top = Math.max(...counts.values()) / (rows * 100);
  assert.ok(top > 0.04 && top < 0.2, `commonest word ${top}`);
  assert.ok(counts.size > 10_000, `${counts.size} distinct words`);
  // Articles: consecutive passages share a title, ~6.6 passages an article.
  const articles = titles.filter((title, i) => i === 0 || title !== titles[i - 1]).length;
  assert.ok(rows / articles > 4.5 && rows / articles < 9, `${(rows / articles).toFixed(2)} passages an article`);

  const { manifest } = await ingestGeneratedTsv(join(dir, 'psgs-0.tsv'), join(dir, 'shards'), 3);
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [rows, rows, 0]);
  assert.throws(() => writeSyntheticCorpus(join(dir, 'x.tsv'), { rows: -1 }), /rows must be a non-negative integer/);
});

test('the synsets corpus: passages of an article share topic words drawn from WordNet glosses, no two passages alike, seeded', (t) => {
  const dir = tempDir(t);
  const rows = 4000;
  const file = join(dir, 'psgs.tsv');
  writeSyntheticCorpus(file, { rows, seed: 3 });
  assert.equal(readFileSync(file, 'utf8'), (writeSyntheticCorpus(join(dir, 'again.tsv'), { rows, seed: 3 }), readFileSync(join(dir, 'again.tsv'), 'utf8')));
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(1);
  assert.equal(lines.length, rows);
  const passages = lines.map((line) => {
    const [, text, title] = line.split('\t') as [string, string, string];
    assert.equal(text.split(' ').length, 100);
    return { words: new Set(text.split(' ')), title };
  });
  assert.equal(new Set(lines.map((l) => l.split('\t')[1])).size, rows, 'no two passages alike');
  // Background words are common to everything; topic words are the rarer ones. Overlap of the words
  // that occur in under 1% of passages: within an article against across articles.
  const df = new Map<string, number>();
  for (const p of passages) for (const w of p.words) df.set(w, (df.get(w) ?? 0) + 1);
  const rare = (p: { words: Set<string> }) => new Set([...p.words].filter((w) => df.get(w)! < rows / 100));
  const overlap = (a: Set<string>, b: Set<string>) => [...a].filter((w) => b.has(w)).length / Math.max(1, Math.min(a.size, b.size));
  let within = 0;
  let withinN = 0;
  let across = 0;
  let acrossN = 0;
  for (let i = 1; i < rows; i++) {
    const o = overlap(rare(passages[i]!), rare(passages[i - 1]!));
    if (passages[i]!.title === passages[i - 1]!.title) {
      within += o;
      withinN += 1;
    } else {
      across += o;
      acrossN += 1;
    }
  }
  assert.ok(withinN > 1000 && acrossN > 300, `${withinN} pairs within articles, ${acrossN} across`);
  assert.ok(within / withinN > 0.1 && across / acrossN < 0.01, `rare-word overlap within ${within / withinN}, across ${across / acrossN}`);
  // The words come from the synsets' glosses and lemmas, with background words between them.
  const graph = loadSynsetGraph();
  const glossWords = new Set(graph.synsets.flatMap((s) => [...s.gloss, ...s.lemmas.flatMap((l) => l.split(' '))]));
  const fromGlosses = passages.reduce((n, p) => n + [...p.words].filter((w) => glossWords.has(w)).length, 0) / passages.reduce((n, p) => n + p.words.size, 0);
  assert.ok(fromGlosses > 0.6, `${fromGlosses} of distinct passage words are gloss or lemma words`);
  // Background words are the commonest 1,000 ranks only: rare words come from the topic.
  const background = new Set(passages.flatMap((p) => [...p.words].filter((w) => !glossWords.has(w))));
  assert.ok(background.size <= 1000, `${background.size} distinct background words`);
  assert.match(passages[0]!.title, /^[A-Z][^(]*( \(.+\))?$/);
  assert.deepEqual(textWords("A dog's (Canis familiaris) well-being; 3 times"), ['a', "dog's", 'canis', 'familiaris', 'well-being', 'times']);
});
