import { readFileSync, statSync } from 'node:fs';
import { parseQrels } from '../eval/index.js';
import { readQueriesFile } from '../shards/index.js';

/*
 * The queries of one split as a mine job sees them: the queries of the split's
 * qrels that the query file has, in the qrels file's order (the same order on
 * every shard, so candidate lists line up by position), each with the
 * passage ids judged relevant (grade > 0).
 */

export interface QuerySplit {
  readonly ids: readonly string[];
  readonly texts: readonly string[];
  readonly positives: ReadonlyArray<ReadonlySet<string>>;
  /** Answer strings (DPR-style sources); empty where the query has none. */
  readonly answers: ReadonlyArray<readonly string[]>;
}

/**
 * The split this thread read last, by the two files' identity. Every task of a mine job (a
 * candidates task and a merge part per shard, the stats, the queries) reads the same split, and
 * the queries file holds every split's queries: the 21M corpus run's has 212,000 for a mine split
 * of 10,000, 1.3–1.6 s a parse under that run's load, read 673 times over 336 shards. A worker's
 * pool thread now parses it once per job.
 */
let lastRead: { key: string; split: QuerySplit } | null = null;

/** A file's identity for the cache: replaced or rewritten files get a new one; null where it cannot be read (the reader names the error). */
function identityOf(file: string): string | null {
  const stat = statSync(file, { throwIfNoEntry: false });
  return stat ? `${file}\0${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}` : null;
}

export function readQuerySplit(queriesFile: string, qrelsFile: string): QuerySplit {
  const identities = [identityOf(queriesFile), identityOf(qrelsFile)];
  const key = identities.every((id) => id !== null) ? identities.join('\0') : null;
  if (key !== null && lastRead?.key === key) return lastRead.split;
  const split = parseQuerySplit(queriesFile, qrelsFile);
  if (key !== null) lastRead = { key, split };
  return split;
}

function parseQuerySplit(queriesFile: string, qrelsFile: string): QuerySplit {
  const texts = new Map<string, string>();
  const answers = new Map<string, string[]>();
  for (const q of readQueriesFile(queriesFile)) {
    texts.set(q.id, q.text);
    answers.set(q.id, q.answers);
  }
  const qrels = parseQrels(readFileSync(qrelsFile, 'utf8'));
  const split = { ids: [] as string[], texts: [] as string[], positives: [] as Set<string>[], answers: [] as string[][] };
  for (const [id, judged] of qrels) {
    const text = texts.get(id);
    if (text === undefined) continue;
    split.ids.push(id);
    split.texts.push(text);
    split.positives.push(new Set([...judged].filter(([, grade]) => grade > 0).map(([passage]) => passage)));
    split.answers.push(answers.get(id) ?? []);
  }
  return split;
}
