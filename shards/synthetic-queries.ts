import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../common/index.js';
import { HashedTextWriter } from './hashed-text-writer.js';
import { readManifest, writeManifest, type Manifest } from './manifest.js';
import { readPassageRows } from './passage-lookup.js';
import { ShardFormatError } from './errors.js';
import { loadSynsetGraph } from './synset-graph.js';

/*
 * Queries with known answers for a generated corpus (synthetic-corpus.ts):
 * each query is a run of words cut from one passage and paraphrased through
 * WordNet synonyms, and its judgment names that passage. A training query
 * also gets hard negatives as DPR's training files carry them: the other
 * passages of its source's article next to it (same title, same topic, not
 * the passage the query was cut from). Written into the passage set as
 * ingest writes a corpus's own queries (queries.jsonl with each query's
 * split, qrels/<split>.tsv, negatives/<split>.tsv), and the manifest is
 * rewritten to name them, so training, evaluation and mining read them as
 * any other set's.
 */

export interface ParaphraseOptions {
  /** Words cut from the passage. */
  words?: number;
  /** Chance that a word with synonyms is replaced by one of them. */
  replace?: number;
}

/** A run of `words` words (as the passage spaces them) from `passage` at a seeded place, each word with synonyms swapped for one with probability `replace`. */
export function paraphrasedQuery(
  passage: string,
  synonyms: ReadonlyMap<string, readonly string[]>,
  random: () => number,
  options: ParaphraseOptions = {},
): { text: string; replaced: number } {
  const words = passage.split(/\s+/).filter((w) => w !== '');
  const length = Math.min(options.words ?? 12, words.length);
  const start = Math.floor(random() * (words.length - length + 1));
  let replaced = 0;
  const out = words.slice(start, start + length).map((word) => {
    const choices = synonyms.get(word);
    if (!choices || random() >= (options.replace ?? 0.5)) return word;
    replaced += 1;
    return choices[Math.floor(random() * choices.length)]!;
  });
  return { text: out.join(' '), replaced };
}

export interface SyntheticQueriesOptions extends ParaphraseOptions {
  /** Split name → queries in it, e.g. { train: 20000, dev: 1000, test: 1000 }. */
  splits: Record<string, number>;
  /** The split whose queries get their source's article neighbours as hard negatives. @defaultValue 'train' */
  negativesSplit?: string;
  seed?: number;
}

export interface SyntheticQueriesResult {
  queries: number;
  splits: Record<string, number>;
  /** Mean words replaced by a synonym per query. */
  meanReplaced: number;
  /** Hard negatives written (article neighbours of training queries' sources). */
  negatives: number;
}

/** How far either side of a source passage its article neighbours are looked for. */
const NEIGHBOURS = 2;

/**
 * Cuts queries from distinct passages of the set in `dir`, chosen uniformly by the seed, and writes
 * them with their judgments into the set (a set that already has queries is refused, naming it).
 */
export async function writeSyntheticQueries(dir: string, options: SyntheticQueriesOptions): Promise<SyntheticQueriesResult> {
  const { manifest, path } = readManifest(dir);
  if (manifest.queries !== null || manifest.qrels !== null || manifest.negatives !== null)
    throw new ShardFormatError('the passage set already has queries, judgments or negatives; generate queries into a set ingested without them', {
      file: path,
    });
  const total = manifest.shards.reduce((n, s) => n + s.rows, 0);
  const wanted = Object.values(options.splits).reduce((n, q) => n + q, 0);
  for (const [split, n] of Object.entries(options.splits)) {
    if (!/^[A-Za-z0-9._-]+$/.test(split)) throw new RangeError(`split name ${JSON.stringify(split)} is not a safe file name`);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`split ${split}: the number of queries must be a positive integer, got ${n}`);
  }
  if (wanted > total / 2) throw new RangeError(`${wanted} queries from ${total} passages: at most one query per two passages`);
  const random = seededRandom(options.seed ?? 1);
  // Distinct source rows, in the order drawn; splits take consecutive runs of that order.
  const rows = new Set<number>();
  while (rows.size < wanted) rows.add(Math.floor(random() * total));
  const drawn = [...rows];
  const splitOf: string[] = [];
  for (const [split, n] of Object.entries(options.splits)) for (let i = 0; i < n; i++) splitOf.push(split);

  const negativesSplit = options.negativesSplit ?? 'train';
  // Each passage's text, title and external id, read shard by shard: the sources, and the training sources' neighbours.
  const wantedRows = new Set(drawn);
  drawn.forEach((row, i) => {
    if (splitOf[i] !== negativesSplit) return;
    for (let d = -NEIGHBOURS; d <= NEIGHBOURS; d++) if (row + d >= 0 && row + d < total) wantedRows.add(row + d);
  });
  const passages = readPassageRows(dir, manifest.shards, wantedRows, ['text', 'title']);

  const { synonyms } = loadSynsetGraph();
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  const queries = new HashedTextWriter(join(dir, 'queries.jsonl'));
  const qrels = new Map<string, HashedTextWriter>();
  // Negatives only where the split that gets them is asked for.
  const withNegatives = negativesSplit in options.splits;
  if (withNegatives) mkdirSync(join(dir, 'negatives'), { recursive: true });
  const negatives = withNegatives ? new HashedTextWriter(join(dir, 'negatives', `${negativesSplit}.tsv`), 'query-id\tcorpus-id\tkind') : null;
  const splitCounts: Record<string, number> = {};
  let replaced = 0;
  try {
    for (const [i, row] of drawn.entries()) {
      const split = splitOf[i]!;
      const source = passages.get(row)!;
      const query = paraphrasedQuery(source.text ?? '', synonyms, random, options);
      replaced += query.replaced;
      const id = `q${i + 1}`;
      await queries.writeRow(JSON.stringify({ _id: id, text: query.text, split }));
      let writer = qrels.get(split);
      if (!writer) qrels.set(split, (writer = new HashedTextWriter(join(dir, 'qrels', `${split}.tsv`), 'query-id\tcorpus-id\tscore')));
      await writer.writeRow(`${id}\t${source.externalId}\t1`);
      splitCounts[split] = (splitCounts[split] ?? 0) + 1;
      if (split !== negativesSplit) continue;
      for (let d = -NEIGHBOURS; d <= NEIGHBOURS; d++) {
        const other = d === 0 ? undefined : passages.get(row + d);
        if (other && other.title === source.title) await negatives!.writeRow(`${id}\t${other.externalId}\tarticle`);
      }
    }
  } catch (err) {
    await queries.abort();
    await negatives?.abort();
    for (const writer of qrels.values()) await writer.abort();
    throw err;
  }
  const done = await queries.commit();
  const qrelSplits: NonNullable<Manifest['qrels']>['splits'] = {};
  for (const [split, writer] of [...qrels.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const file = await writer.commit();
    qrelSplits[split] = { path: join('qrels', `${split}.tsv`), rows: file.rows, sha256: file.sha256 };
  }
  const negativesFile = negatives ? await negatives.commit() : null;
  writeManifest(dir, {
    ...manifest,
    queries: { path: 'queries.jsonl', sha256: done.sha256, rowsIn: wanted, rowsWritten: wanted, rowsRejected: 0, splits: splitCounts },
    qrels: { rowsIn: wanted, rowsWritten: wanted, rowsRejected: 0, splits: qrelSplits },
    negatives: negativesFile
      ? { splits: { [negativesSplit]: { path: join('negatives', `${negativesSplit}.tsv`), rows: negativesFile.rows, sha256: negativesFile.sha256 } } }
      : null,
  });
  return { queries: wanted, splits: splitCounts, meanReplaced: replaced / wanted, negatives: negativesFile?.rows ?? 0 };
}
