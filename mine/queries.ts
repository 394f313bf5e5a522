import { readFileSync } from 'node:fs';
import { parseQrels } from '../eval/index.js';
import { MineInputError } from './errors.js';

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
  readFileSync(queriesFile, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let row: { _id?: unknown; text?: unknown; answers?: unknown };
      try {
        row = JSON.parse(line) as typeof row;
      } catch (err) {
        throw new MineInputError(`${queriesFile}:${i + 1}: invalid JSON: ${(err as Error).message}`, { file: queriesFile, line: i + 1, cause: err });
      }
      if (typeof row._id === 'string' && typeof row.text === 'string') {
        texts.set(row._id, row.text);
        if (Array.isArray(row.answers))
          answers.set(
            row._id,
            row.answers.filter((a): a is string => typeof a === 'string'),
          );
      }
    });
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
