import { Piscina } from 'piscina';
import { JobSpecSchema, type JobRecord, type JobSpecInput, type TaskRecord } from '../jobs/index.js';
import type { Storage } from '../storage/index.js';
import type { EncoderSettings } from '../encoder/index.js';
import { runTask } from '../workers/index.js';
import { completeStage, POOL_ENTRY, shardsOfStage, stagesOf } from '../stages/index.js';

/*
 * Runs a job in this process, without NATS: the same stage walk (stages/walk.ts),
 * task code, pool and output manifest as the cluster. It is the in-process
 * baseline of bench/cluster and a way to run small jobs on one machine.
 */
export async function runJobLocally(
  raw: JobSpecInput,
  storage: Storage,
  options: { threads?: number; encoder?: EncoderSettings } = {},
): Promise<{ job: JobRecord; manifestKey: string }> {
  const spec = JobSpecSchema.parse(raw);
  const threads = options.threads ?? 1;
  const pool = new Piscina({ filename: POOL_ENTRY, minThreads: threads, maxThreads: threads, workerData: { encoder: options.encoder ?? {} } });
  const now = new Date().toISOString();
  const job: JobRecord = {
    id: `local-${Date.now()}`,
    spec,
    state: 'running',
    stages: stagesOf(spec),
    stage: 0,
    shards: 0,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    outputManifest: null,
    error: null,
  };
  try {
    const done: TaskRecord[] = [];
    for (;;) {
      const stage = job.stages[job.stage]!;
      const shards = await shardsOfStage(storage, job);
      job.shards = shards.length;
      const tasks = await Promise.all(
        shards.map(async (shardId) => {
          const started = new Date().toISOString();
          const result = await runTask({ jobId: job.id, stage, shardId, spec }, storage, pool);
          return {
            jobId: job.id,
            stage,
            shardId,
            state: 'done',
            worker: 'local',
            deliveries: 1,
            startedAt: started,
            finishedAt: new Date().toISOString(),
            ...result,
            error: null,
          } satisfies TaskRecord;
        }),
      );
      done.push(...tasks);
      const outcome = await completeStage(storage, job, tasks, async () => done);
      if ('next' in outcome) {
        job.stage = outcome.next;
        continue;
      }
      return { job: { ...job, state: 'done', outputManifest: outcome.manifest, finishedAt: new Date().toISOString() }, manifestKey: outcome.manifest };
    }
  } finally {
    await pool.destroy();
  }
}
