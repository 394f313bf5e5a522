import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest, TsvIngester, writeSyntheticCorpus } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { TEST_INGEST } from '../../support/shards.js';

test('the synthetic corpus: psgs_w100-shaped, 100 words a passage, Zipf words, articles of passages, seeded, ingestable', async (t) => {
  const dir = tempDir(t);
  const rows = 3000;
  const files = [1, 1, 2].map((seed, i) => {
    const file = join(dir, `psgs-${i}.tsv`);
    const bytes = writeSyntheticCorpus(file, { rows, seed });
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

  const { manifest } = await runIngest({
    ingester: new TsvIngester(join(dir, 'psgs-0.tsv')),
    format: 'tsv',
    input: join(dir, 'psgs-0.tsv'),
    outDir: join(dir, 'shards'),
    layout: { shardCount: 3 },
    ...TEST_INGEST,
    maxLineBytes: 1 << 16,
  });
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [rows, rows, 0]);
  assert.throws(() => writeSyntheticCorpus(join(dir, 'x.tsv'), { rows: -1 }), /rows must be a non-negative integer/);
});
