import { NEGATIVES_SET_FORMAT } from '../../shards/index.js';
import { defineJobKind, relativeTo, rowCounts, tasksOfStage } from '../stage.js';
import { candidatesStage } from './candidates.js';
import { concatStage } from './concat.js';
import { mergeStage } from './merge.js';
import { queriesStage } from './queries.js';
import { statsStage } from './stats.js';

/*
 * mine job: hard negatives for a split's judged queries from an index set,
 * across its shards. BM25 needs the corpus-wide statistics of the query
 * terms before any shard can score (stats); dense mining encodes the
 * queries once (queries) for every shard to search with; then every shard's
 * candidates (mine); the merge, split by query range into one part per shard
 * (merge), and the parts joined into the negatives file (concat).
 */
export const mineJob = defineJobKind<'mine'>({
  kind: 'mine',
  stages: [statsStage, queriesStage, candidatesStage, mergeStage, concatStage],
  inputs: (spec) => [spec.input, spec.queries.passages],
  storageKeys: (spec) => [
    ['output', spec.output],
    ['input', spec.input],
    ['queries.passages', spec.queries.passages],
  ],
  outputFormat: NEGATIVES_SET_FORMAT,
  // The concat task's outputs: the negatives file and its account.
  async manifest(storage, job, allTasks) {
    const spec = job.spec;
    const tasks = tasksOfStage(allTasks, 'concat');
    const file = tasks[0]?.outputs.find((o) => o.role === 'negatives');
    const account = tasks[0]?.outputs.find((o) => o.role === 'account');
    if (!file || !account) throw new Error('the concat task has no negatives output');
    return {
      format: NEGATIVES_SET_FORMAT,
      ...rowCounts(job.id, tasks),
      indexSet: spec.input,
      queries: spec.queries,
      source: spec.source,
      k: spec.k,
      filter: spec.filter,
      stage: spec.stage,
      checkpoint: spec.checkpoint,
      account: JSON.parse(await storage.readText(account.key)) as unknown,
      file: { path: relativeTo(spec.output, file.key), sha256: file.sha256, bytes: file.bytes },
    };
  },
});
