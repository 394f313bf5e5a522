import { Piscina } from 'piscina';
import { JobSpecSchema, stagesOf, type JobRecord, type JobSpecInput, type TaskRecord } from '../jobs/index.js';
import type { Storage } from '../storage/index.js';
import { runTask } from '../workers/index.js';
import { buildOutputManifest } from './output-manifest.js';
import { mergeFitOutputs } from './stage-steps.js';
import { shardIdsOf } from './shard-ids.js';

/*
 * Runs a job in this process, without NATS: the same stages, task code,
 * pool and output manifest as the cluster. It is the in-process baseline of
 * bench/cluster and a way to run small jobs on one machine.
 */
export async function runJobLocally(raw: JobSpecInput, storage: Storage, options: { threads?: number } = {}): Promise<{ job: JobRecord; manifestKey: string }> {
  const spec = JobSpecSchema.parse(raw);
  const threads = options.threads ?? 1;
  const pool = new Piscina({ filename: new URL('../workers/pool-entry.js', import.meta.url).href, minThreads: threads, maxThreads: threads });
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
    for (const [i, stage] of job.stages.entries()) {
      job.stage = i;
      const shards = await shardIdsOf(storage, spec, stage);
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
      if (stage === 'fit') await mergeFitOutputs(storage, spec, tasks);
      done.push(...tasks);
    }
    const manifestKey = await buildOutputManifest(storage, job, done);
    return { job: { ...job, state: 'done', outputManifest: manifestKey, finishedAt: new Date().toISOString() }, manifestKey };
  } finally {
    await pool.destroy();
  }
}
