import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseContract } from '../common/index.js';
import { QueriesFileError } from './errors.js';

/*
 * The one reader of a queries file (queries.jsonl, BEIR's layout, which
 * ingest writes beside a passage set): one JSON object per line with `_id`
 * (a string, or a number taken as its decimal string) and `text`, and
 * optionally `split` and `answers` (DPR's answer strings). Blank lines are
 * skipped; anything else that is not a query stops the read with the file,
 * the line and the field.
 */

export interface QueryRow {
  id: string;
  text: string;
  /** The split ingest assigned it (WordNet); null where the file gives none (splits come from the qrels files). */
  split: string | null;
  /** Answer strings (DPR-style sources); empty where the query has none. */
  answers: string[];
}

const QueryLineSchema = z.looseObject({
  _id: z.union([z.string().min(1), z.number().int().transform(String)]),
  text: z.string(),
  split: z.string().optional(),
  // Non-string answers are no answer strings: dropped, as the has_answer match reads strings only.
  answers: z
    .array(z.unknown())
    .optional()
    .transform((answers) => (answers ?? []).filter((a): a is string => typeof a === 'string')),
});

export function readQueriesFile(file: string): QueryRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new QueriesFileError(`cannot read queries: ${(err as Error).message}`, { file, cause: err });
  }
  const rows: QueryRow[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new QueriesFileError(`invalid JSON: ${(err as Error).message}`, { file, line: i + 1, cause: err });
    }
    const query = parseContract(QueryLineSchema, raw, { what: 'not a query (it needs "_id" and "text")', error: QueriesFileError, file, line: i + 1 });
    rows.push({ id: query._id, text: query.text, split: query.split ?? null, answers: query.answers });
  });
  return rows;
}
