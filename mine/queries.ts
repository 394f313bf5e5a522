import { readFileSync } from 'node:fs';
import { parseQrels } from '../eval/index.js';
import { readQueriesFile } from '../shards/index.js';

/*
 * The queries of one split as a mine job sees them: the queries of the split's
 * qrels that the query file has, in the qrels file's order (the same order on
 * every shard, so candidate lists line up by position), each with the
 * passage ids judged relevant (grade > 0).
 */

export interface QuerySplit {
  ids: string[];
  texts: string[];
  positives: Array<Set<string>>;
  /** Answer strings (DPR-style sources); empty where the query has none. */
  answers: string[][];
}

export function readQuerySplit(queriesFile: string, qrelsFile: string): QuerySplit {
  const texts = new Map<string, string>();
  const answers = new Map<string, string[]>();
  for (const q of readQueriesFile(queriesFile)) {
    texts.set(q.id, q.text);
    answers.set(q.id, q.answers);
  }
  const qrels = parseQrels(readFileSync(qrelsFile, 'utf8'));
  const split: QuerySplit = { ids: [], texts: [], positives: [], answers: [] };
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
