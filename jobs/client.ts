import type { NatsConnection } from 'nats';
import { setTimeout as sleep } from 'node:timers/promises';
import { retrying } from '../messaging/index.js';
import type { ClusterState } from './cluster-state.js';
import { JobError, JobNotFoundError, JobStateError } from './errors.js';
import { isJobFinished, newJobId, type JobRecord, type JobSpecInput, type TaskRecord, JobRecordSchema } from './model.js';
import { NAMES } from './names.js';
import { getRecord } from './records.js';

/*
 * What a client of the cluster does with jobs: submit one to the
 * coordinator, follow its record to the end, and summarise its tasks.
 * Used by `sci job`, the pipeline driver and the benches.
 */

export async function submitJob(nc: NatsConnection, spec: JobSpecInput): Promise<JobRecord> {
  // Asked again under the same id while no coordinator answers ("no responders" while one (re)starts)
  // or an answer does not come (a NATS node in an election right after a host rejoined): a request that
  // did land is found by its id on the retry, never submitted twice.
  const submission = new TextEncoder().encode(JSON.stringify({ id: newJobId(), spec }));
  const reply = await retrying('submitting the job (is a coordinator running?)', () => nc.request(NAMES.submitSubject, submission, { timeout: 20_000 }), {
    timeoutMs: 90_000,
  });
  const answer = reply.json<{ ok: boolean; job?: JobRecord; error?: string }>();
  if (!answer.ok) throw new JobError(`job refused: ${answer.error}`);
  return answer.job!;
}

export type JobControl = 'cancel' | 'retry';

/**
 * Asks the coordinator to cancel a job (its running tasks stop, the job ends `cancelled`) or to retry
 * a failed or cancelled one (only its unfinished shards run again). Returns the job record after.
 */
export async function controlJob(nc: NatsConnection, op: JobControl, jobId: string): Promise<JobRecord> {
  const reply = await retrying(
    `asking the coordinator to ${op} ${jobId} (is a coordinator running?)`,
    () => nc.request(NAMES.controlSubject, new TextEncoder().encode(JSON.stringify({ op, jobId })), { timeout: 30_000 }),
    { timeoutMs: 20_000 },
  );
  const answer = reply.json<{ ok: boolean; job?: JobRecord; error?: string; code?: string }>();
  if (!answer.ok) {
    if (answer.code === 'JOB_NOT_FOUND') throw new JobNotFoundError(jobId);
    if (answer.code === 'JOB_STATE') throw new JobStateError(`cannot ${op} ${jobId}: ${answer.error}`);
    throw new JobError(`cannot ${op} ${jobId}: ${answer.error}`, { field: 'jobId' });
  }
  return answer.job!;
}

/** Polls the job record until it is done or failed (or `timeoutMs` passes); `onTick` sees every poll. */
export async function waitForJob(state: ClusterState, jobId: string, timeoutMs: number, onTick?: (job: JobRecord) => Promise<void> | void): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await getRecord(state.jobs, jobId, JobRecordSchema))?.value;
    if (!job) throw new JobError(`no job ${jobId}`);
    await onTick?.(job);
    if (isJobFinished(job.state)) return job;
    if (Date.now() > deadline) throw new JobError(`job ${jobId} still ${job.state} after ${timeoutMs} ms`);
    await sleep(300);
  }
}

export interface JobStatus {
  job: JobRecord;
  stage: string;
  tasks: { total: number; done: number; running: number; failed: number; cancelled: number; queued: number };
  rows: { done: number; perSecond: number; etaSeconds: number | null };
  workers: Array<{ worker: string; tasks: number; rows: number; rowsPerSecond: number }>;
}

/** The current stage's tasks by state, rows per second per worker, and an ETA from the finished tasks' rate. */
export function jobStatus(job: JobRecord, tasks: TaskRecord[]): JobStatus {
  const stage = job.stages[job.stage] ?? job.stages[job.stages.length - 1]!;
  const current = tasks.filter((t) => t.stage === stage);
  const count = (s: TaskRecord['state']) => current.filter((t) => t.state === s).length;
  const done = current.filter((t) => t.state === 'done');
  const byWorker = new Map<string, { tasks: number; rows: number; seconds: number }>();
  for (const t of done) {
    const w = byWorker.get(t.worker ?? '?') ?? { tasks: 0, rows: 0, seconds: 0 };
    w.tasks += 1;
    w.rows += t.rowsIn;
    w.seconds += t.startedAt && t.finishedAt ? (Date.parse(t.finishedAt) - Date.parse(t.startedAt)) / 1000 : 0;
    byWorker.set(t.worker ?? '?', w);
  }
  const workers = [...byWorker.entries()].map(([worker, w]) => ({
    worker,
    tasks: w.tasks,
    rows: w.rows,
    rowsPerSecond: w.seconds > 0 ? w.rows / w.seconds : 0,
  }));
  const rowsDone = done.reduce((s, t) => s + t.rowsIn, 0);
  const perSecond = workers.reduce((s, w) => s + w.rowsPerSecond, 0);
  const meanRows = done.length > 0 ? rowsDone / done.length : 0;
  const remaining = (job.shards - done.length) * meanRows;
  return {
    job,
    stage,
    tasks: {
      total: job.shards,
      done: done.length,
      running: count('running'),
      failed: count('failed'),
      cancelled: count('cancelled'),
      queued: job.shards - done.length - count('running') - count('failed') - count('cancelled'),
    },
    rows: { done: rowsDone, perSecond, etaSeconds: perSecond > 0 && job.state === 'running' ? remaining / perSecond : null },
    workers,
  };
}

/** What `sci job logs` shows: the job and, stage by stage, every task with its worker, deliveries and error. */
export function formatJobLog(job: JobRecord, tasks: readonly TaskRecord[]): string {
  const lines = [
    `${job.id}  ${job.spec.kind}  ${job.state}${job.attempt ? ` (retry ${job.attempt})` : ''}  created ${job.createdAt}${job.finishedAt ? `  finished ${job.finishedAt}` : ''}`,
  ];
  if (job.error) lines.push(`  job error: ${job.error}`);
  for (const stage of job.stages) {
    const ofStage = tasks.filter((t) => t.stage === stage).sort((a, b) => a.shardId - b.shardId);
    if (ofStage.length === 0) continue;
    lines.push(`  stage ${stage}:`);
    for (const t of ofStage) {
      const rows = t.state === 'done' ? `  rows ${t.rowsIn}` : '';
      lines.push(`    shard ${String(t.shardId).padStart(3)}  ${t.state.padEnd(9)}  ${t.worker ?? '-'}  deliveries ${t.deliveries}${rows}`);
      if (t.error) lines.push(`      ${t.error}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
