import { existsSync, readFileSync, statSync } from 'node:fs';
import { readQueriesFile } from '../shards/index.js';
import { join } from 'node:path';
import { EvalInputError } from './errors.js';
import { parseQrels, type Qrels } from './metrics.js';

/**
 * The judged queries of an evaluation: `queries` is a queries.jsonl file, or a
 * shard set folder (its queries.jsonl and qrels/<split>.tsv). Only queries with
 * judgments are kept (trec_eval's convention), in file order, at most
 * `maxQueries`; the judgments are cut to the same queries.
 */
export function loadJudgedQueries(flags: { queries: string; qrels?: string; split?: string; maxQueries?: number }): {
  sample: { ids: string[]; texts: string[] };
  qrels: Qrels;
  source: string;
} {
  const folder = existsSync(flags.queries) && statSync(flags.queries).isDirectory();
  const queriesFile = folder ? join(flags.queries, 'queries.jsonl') : flags.queries;
  const qrelsFile = flags.qrels ?? (folder && flags.split ? join(flags.queries, 'qrels', `${flags.split}.tsv`) : null);
  if (!qrelsFile) throw new EvalInputError('no qrels: give a qrels file, or a shard set folder as the queries with a split');
  let qrels: Qrels;
  try {
    qrels = parseQrels(readFileSync(qrelsFile, 'utf8'));
  } catch (err) {
    throw new EvalInputError(`cannot read qrels: ${(err as Error).message}`, { file: qrelsFile });
  }
  const sample: { ids: string[]; texts: string[] } = { ids: [], texts: [] };
  for (const query of readQueriesFile(queriesFile)) {
    if (flags.split && query.split !== null && query.split !== flags.split) continue;
    if (!qrels.has(query.id)) continue;
    sample.ids.push(query.id);
    sample.texts.push(query.text);
  }
  if (flags.maxQueries && sample.ids.length > flags.maxQueries) {
    sample.ids.length = flags.maxQueries;
    sample.texts.length = flags.maxQueries;
  }
  if (sample.ids.length === 0)
    throw new EvalInputError(`no judged queries in ${queriesFile}${flags.split ? ` for split ${flags.split}` : ''}`, { file: queriesFile });
  const kept = new Set(sample.ids);
  return { sample, qrels: new Map([...qrels].filter(([id]) => kept.has(id))), source: queriesFile };
}
