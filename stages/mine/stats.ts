import { writeFileSync } from 'node:fs';
import type { z } from 'zod';
import { loadBm25 } from '../../bm25/index.js';
import { readQuerySplit } from '../../mine/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { bm25Dir, localMineFile, mineFolders, mineInputs, minedShards, queryTermsOf, type ShardStatsSchema } from './inputs.js';

/*
 * mine job with BM25 as its source, stage 1 of 4: per shard, the document
 * frequencies of every query term, so that each shard's search scores with
 * the corpus-wide statistics (what one global BM25 index would hold).
 */

export interface StatsTask extends PoolTask {
  stage: 'stats';
  bm25Dir: string;
  queriesFile: string;
  qrelsFile: string;
  outFile: string;
}

async function runStats(task: StatsTask, cancel?: TaskCancel): Promise<PoolResult> {
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const bm25 = loadBm25(task.bm25Dir);
  cancel?.throwIfCancelled();
  const terms = [...new Set(queryTermsOf(split.texts).flat())].sort();
  const stats: z.infer<typeof ShardStatsSchema> = {
    docCount: bm25.docCount,
    sumTotalTermFreq: bm25.parts.sumTotalTermFreq,
    terms,
    df: terms.map((t) => bm25.df(t)),
  };
  writeFileSync(task.outFile, JSON.stringify(stats));
  return { rowsIn: split.ids.length, rowsWritten: split.ids.length, rowsRejected: 0, files: [{ path: task.outFile, role: 'bm25-stats', name: '' }] };
}

export const statsStage = defineStage<'mine', StatsTask>({
  name: 'stats',
  job: 'mine',
  runsIn: (spec) => spec.source.kind === 'bm25',
  shardIds: minedShards,
  async prepare({ storage, task, spec, work }) {
    const { queriesFile, qrelsFile, set } = await mineInputs({ storage, spec });
    return {
      poolTask: {
        stage: 'stats',
        bm25Dir: await bm25Dir(storage, spec, set, task.shardId, work),
        queriesFile,
        qrelsFile,
        outFile: localMineFile(work, 'stats', task.shardId),
      },
      publishUnder: mineFolders.stats(spec.output),
    };
  },
  run: runStats,
});
