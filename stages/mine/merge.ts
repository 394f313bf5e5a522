import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeCandidates, NegativesWriter, openCandidates, readQuerySplit, type OpenCandidates } from '../../mine/index.js';
import type { NegativeFilter } from '../../jobs/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { mineInputs, minedShards, mineKeys } from './inputs.js';

/*
 * mine job, its last stage (one task): every shard's candidates merged into
 * the global top-K per query and filtered into the negatives file, with an
 * account of what each rule removed.
 */

export interface MergeTask extends PoolTask {
  stage: 'merge';
  candidateFiles: string[];
  queriesFile: string;
  qrelsFile: string;
  k: number;
  filter: NegativeFilter;
  provenance: { stage: string; source: string; checkpoint: string | null; step: number | null };
  outFile: string;
  accountFile: string;
}

async function runMerge(task: MergeTask, cancel?: TaskCancel): Promise<PoolResult> {
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const shards: OpenCandidates[] = [];
  const writer = new NegativesWriter(task.outFile);
  try {
    for (const f of task.candidateFiles) shards.push(await openCandidates(f));
    cancel?.throwIfCancelled();
    const account = await mergeCandidates(shards, { ids: split.ids, positives: split.positives }, task.k, task.filter, task.provenance, writer);
    cancel?.throwIfCancelled();
    writer.commit();
    writeFileSync(task.accountFile, `${JSON.stringify(account, null, 2)}\n`);
    return {
      rowsIn: account.queriesIn,
      rowsWritten: account.withNegatives,
      rowsRejected: account.withNone,
      files: [
        { path: task.outFile, role: 'negatives', name: '' },
        { path: task.accountFile, role: 'account', name: '' },
      ],
    };
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    await Promise.all(shards.map((s) => s.close()));
  }
}

export const mergeStage = defineStage<'mine', MergeTask>({
  name: 'merge',
  job: 'mine',
  // One task over every shard's candidates.
  async shardIds(storage, spec) {
    await minedShards(storage, spec); // the set's checks, though the merge is one task
    return [0];
  },
  async prepare({ storage, spec, work }) {
    const { queriesFile, qrelsFile, set } = await mineInputs({ storage, spec });
    const candidateFiles = await Promise.all(set.shards.map((s) => storage.localPath(mineKeys.candidates(spec.output, s.id))));
    const source = spec.source.kind === 'bm25' ? 'bm25' : `dense:${spec.source.index}`;
    return {
      poolTask: {
        stage: 'merge',
        candidateFiles,
        queriesFile,
        qrelsFile,
        k: spec.k,
        filter: spec.filter,
        provenance: { stage: spec.stage, source, checkpoint: spec.checkpoint?.id ?? null, step: spec.checkpoint?.step ?? null },
        outFile: join(work, 'negatives.arrow'),
        accountFile: join(work, 'account.json'),
      },
      publishUnder: spec.output,
    };
  },
  run: runMerge,
});
