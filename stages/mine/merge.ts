import { mergeCandidates, mergePartRange, NegativesWriter, openCandidates, readQuerySplit, type OpenCandidates } from '../../mine/index.js';
import type { NegativeFilter } from '../../jobs/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { localMergedPart, mergeParts, mineFolders, mineInputs, mineKeys, writeAccountResult } from './inputs.js';

/*
 * mine job, stage 3 of 4, one task per part: the queries of one range (whole
 * batches of queries), every shard's candidates for them merged into the
 * global top-K per query and filtered into a part of the negatives file, with
 * an account of what each rule removed. Split by query range so the merge
 * scales out with the workers instead of being the run's serial half; the
 * concat stage joins the parts.
 */

export interface MergeTask extends PoolTask {
  stage: 'merge';
  part: number;
  parts: number;
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
  const range = mergePartRange(task.part, task.parts, split.ids.length);
  const shards: OpenCandidates[] = [];
  const writer = new NegativesWriter(task.outFile);
  try {
    for (const f of task.candidateFiles) shards.push(await openCandidates(f, range.from));
    cancel?.throwIfCancelled();
    const account = await mergeCandidates(shards, { ids: split.ids, positives: split.positives }, task.k, task.filter, task.provenance, writer, range);
    cancel?.throwIfCancelled();
    writer.commit();
    return writeAccountResult(account, { negatives: task.outFile, account: task.accountFile }, true);
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
  // One task per part (its id the part's number).
  async shardIds(storage, spec) {
    return Array.from({ length: await mergeParts(storage, spec) }, (_, part) => part);
  },
  async prepare({ storage, task, spec, work }) {
    const { queriesFile, qrelsFile, set } = await mineInputs({ storage, spec });
    const candidateFiles = await Promise.all(set.shards.map((s) => storage.localPath(mineKeys.candidates(spec.output, s.id))));
    const source = spec.source.kind === 'bm25' ? 'bm25' : `dense:${spec.source.index}`;
    const out = localMergedPart(work, task.shardId);
    return {
      poolTask: {
        stage: 'merge',
        part: task.shardId,
        parts: await mergeParts(storage, spec),
        candidateFiles,
        queriesFile,
        qrelsFile,
        k: spec.k,
        filter: spec.filter,
        provenance: { stage: spec.stage, source, checkpoint: spec.checkpoint?.id ?? null, step: spec.checkpoint?.step ?? null },
        outFile: out.negatives,
        accountFile: out.account,
      },
      publishUnder: mineFolders.merged(spec.output),
    };
  },
  run: runMerge,
});
