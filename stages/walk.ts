import type { JobRecord, TaskRecord } from '../jobs/index.js';
import { joinKey, type Storage } from '../storage/index.js';
import { jobKindOf, stageNamed } from './registry.js';
import { tasksOfStage } from './stage.js';

/*
 * How a job walks its stages, for both runners (the coordinator over NATS,
 * runJobLocally in process): the shards of the stage it is in, and what
 * follows once every task of that stage is done (the stage's after-step,
 * then the next stage or the output manifest). The runners differ only in
 * how tasks reach a pool thread and where job state is kept.
 */

/** The shard ids of the stage the job is in: one task each. */
export function shardsOfStage(storage: Storage, job: JobRecord): Promise<number[]> {
  return stageNamed(job.stages[job.stage]!).shardIds(storage, job.spec);
}

export type StageOutcome = { next: number } | { manifest: string };

/**
 * Every task of the job's current stage is done: its after-step runs, and the job moves to its next
 * stage, or (after its last) its output manifest is written. `allTasks` is read only for the manifest.
 */
export async function completeStage(
  storage: Storage,
  job: JobRecord,
  stageTasks: readonly TaskRecord[],
  allTasks: () => Promise<TaskRecord[]>,
): Promise<StageOutcome> {
  const name = job.stages[job.stage]!;
  await stageNamed(name).after?.(storage, job.spec, tasksOfStage(stageTasks, name));
  if (job.stage + 1 < job.stages.length) return { next: job.stage + 1 };
  return { manifest: await writeOutputManifest(storage, job, await allTasks()) };
}

/**
 * The job's output manifest, written when its last stage is done: its kind makes the body (every shard
 * exactly once, in shard order, with its files and checksums, and rowsIn = rowsWritten + rowsRejected
 * summed from the tasks); it is written last, so a set with a manifest is whole.
 */
export async function writeOutputManifest(storage: Storage, job: JobRecord, tasks: TaskRecord[]): Promise<string> {
  const manifest = await jobKindOf(job.spec).manifest(storage, job, tasks);
  const key = joinKey(job.spec.output, 'manifest.json');
  await storage.writeText(key, `${JSON.stringify(manifest, null, 2)}\n`);
  return key;
}
