import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KvEntry, Subscription } from 'nats';
import type { Logger } from '../common/logger.js';
import { joinKey, type Storage } from '../storage/index.js';
import { createRecord, getRecord, tasksOfJob, JobError, JobSpecSchema, NAMES, stagesOf, taskKey, updateRecord, listJobs, type ClusterState, type JobRecord, type JobSpec, type StageName, type TaskMessage, type TaskRecord } from '../jobs/index.js';
import { blankTask } from '../workers/worker.js';
import { withTimeout } from '../messaging/index.js';
import { buildOutputManifest } from './output-manifest.js';
import { mergeFitOutputs } from './stage-steps.js';

/*
 * The coordinator: turns a submitted job into one task per shard and stage,
 * publishes them on the work queue (message ids = task keys, so a re-publish
 * after a restart is dropped by JetStream's de-duplication), follows task
 * records through a KV watch, runs the step between stages (merging the
 * encoder fit), writes the output manifest and marks the job done or failed.
 *
 * All state is in KV: a restarted coordinator replays the task bucket,
 * re-plans unfinished stages (publishing only tasks not done) and goes on;
 * finished shards are never redone.
 */

const SWEEP_MS = 3000;
const STEP_TIMEOUT_MS = 120_000;

export interface CoordinatorOptions {
  state: ClusterState;
  storage: Storage;
  logger: Logger;
}

export class Coordinator {
  private readonly tasksByJob = new Map<string, Map<string, TaskRecord>>();
  private readonly jobLocks = new Map<string, Promise<void>>();
  private readonly subscriptions: Subscription[] = [];
  private watcherStop: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly options: CoordinatorOptions) {}

  async start(): Promise<void> {
    const { nc } = this.options.state;
    const submit = nc.subscribe(NAMES.submitSubject, { queue: 'sci-coordinator' });
    this.subscriptions.push(submit);
    void (async () => {
      for await (const msg of submit) {
        if (this.closed) break;
        try {
          const job = await this.submit(JSON.parse(new TextDecoder().decode(msg.data)));
          msg.respond(new TextEncoder().encode(JSON.stringify({ ok: true, job })));
        } catch (err) {
          msg.respond(new TextEncoder().encode(JSON.stringify({ ok: false, error: (err as Error).message })));
        }
      }
    })();
    const health = nc.subscribe(NAMES.healthSubject, { queue: 'sci-coordinator' });
    this.subscriptions.push(health);
    void (async () => {
      for await (const msg of health) msg.respond(new TextEncoder().encode(JSON.stringify({ ok: true, role: 'coordinator', pid: process.pid })));
    })();
    // Tasks that exhausted their deliveries (their worker died each time) fail their job.
    const advisory = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${NAMES.taskStream}.${NAMES.workerConsumer}`);
    this.subscriptions.push(advisory);
    void (async () => {
      for await (const msg of advisory) void this.onMaxDeliveries(msg.json<{ stream_seq: number; deliveries: number }>()).catch((err) => this.options.logger.error({ err }, 'max-deliveries advisory'));
    })();
    await this.watchTasks();
    for (const job of await listJobs(this.options.state.jobs)) {
      if (job.state === 'planning' || job.state === 'running') {
        this.options.logger.info({ jobId: job.id, stage: job.stages[job.stage] }, 'resuming job');
        await this.withJob(job.id, () => this.planStage(job.id));
      }
    }
    // A sweep besides the watch: a watch can miss updates across a NATS restart.
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
  }

  private async sweep(): Promise<void> {
    try {
      for (const job of await listJobs(this.options.state.jobs)) {
        if (job.state === 'planning') void this.withJob(job.id, () => this.planStage(job.id));
        else if (job.state === 'running') void this.withJob(job.id, () => this.checkStage(job.id));
      }
    } catch (err) {
      this.options.logger.warn({ err }, 'sweep failed; NATS unavailable?');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.watcherStop?.();
    for (const sub of this.subscriptions) sub.unsubscribe();
    await Promise.all([...this.jobLocks.values()]);
  }

  /** Validates and records a job, then plans its first stage. */
  async submit(raw: unknown): Promise<JobRecord> {
    const parsed = JobSpecSchema.safeParse(raw);
    if (!parsed.success) throw new JobError(`invalid job: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const spec = normaliseKeys(parsed.data);
    for (const key of inputSets(spec)) {
      if (!(await this.options.storage.exists(joinKey(key, 'manifest.json')))) throw new JobError(`no shard set at ${key} (manifest.json missing)`, { file: key });
    }
    const now = new Date().toISOString();
    const id = `job-${now.replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomUUID().slice(0, 8)}`;
    const job: JobRecord = { id, spec, state: 'planning', stages: stagesOf(spec), stage: 0, shards: 0, createdAt: now, updatedAt: now, finishedAt: null, outputManifest: null, error: null };
    await createRecord(this.options.state.jobs, id, job);
    this.options.logger.info({ jobId: id, kind: spec.kind }, 'job submitted');
    await this.withJob(id, () => this.planStage(id));
    return (await getRecord<JobRecord>(this.options.state.jobs, id))!.value;
  }

  /** Serialises all work on one job inside this process. */
  private withJob(jobId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.jobLocks.get(jobId) ?? Promise.resolve();
    // Bounded, so one hung call cannot stall the job's later steps (the sweep retries).
    const next = previous.then(() => withTimeout(work(), STEP_TIMEOUT_MS, `a step of job ${jobId}`)).catch((err) => this.options.logger.error({ err, jobId }, 'job step failed'));
    this.jobLocks.set(jobId, next);
    return next;
  }

  /** Creates the current stage's task records and publishes the tasks not done yet. */
  private async planStage(jobId: string): Promise<void> {
    const record = await getRecord<JobRecord>(this.options.state.jobs, jobId);
    if (!record || record.value.state === 'done' || record.value.state === 'failed') return;
    const job = record.value;
    const stage = job.stages[job.stage]!;
    let shardIds: number[];
    try {
      shardIds = await this.shardsOf(job.spec, stage);
    } catch (err) {
      await this.failJob(jobId, `cannot read the input of stage ${stage}: ${(err as Error).message}`);
      return;
    }
    const { js, tasks } = this.options.state;
    const known = this.tasksByJob.get(jobId) ?? new Map<string, TaskRecord>();
    for (const shardId of shardIds) {
      const key = taskKey(jobId, stage, shardId);
      const message: TaskMessage = { jobId, stage, shardId, spec: job.spec };
      await createRecord(tasks, key, blankTask(message));
      const current = known.get(key) ?? (await getRecord<TaskRecord>(tasks, key))?.value;
      if (current?.state === 'done') continue;
      await js.publish(NAMES.taskSubject(stage), new TextEncoder().encode(JSON.stringify(message)), { msgID: key });
    }
    await updateRecord<JobRecord>(this.options.state.jobs, jobId, (cur) => (cur && cur.state !== 'done' && cur.state !== 'failed' ? { ...cur, state: 'running', shards: shardIds.length, updatedAt: new Date().toISOString() } : null));
    this.options.logger.info({ jobId, stage, tasks: shardIds.length }, 'stage planned');
    await this.checkStage(jobId);
  }

  private async shardsOf(spec: JobSpec, stage: StageName): Promise<number[]> {
    const set = stage === 'index' && spec.kind === 'index' ? (spec.input ?? spec.bm25!.passages) : spec.input!;
    const manifest = JSON.parse(await this.options.storage.readText(joinKey(set, 'manifest.json'))) as { shards: Array<{ id: number }> };
    return manifest.shards.map((s) => s.id);
  }

  private async watchTasks(): Promise<void> {
    const watcher = await this.options.state.tasks.watch({ key: '>' });
    this.watcherStop = () => watcher.stop();
    void (async () => {
      try {
        for await (const entry of watcher) {
          if (this.closed) break;
          this.onTaskEntry(entry);
        }
      } catch (err) {
        this.options.logger.warn({ err }, 'task watch ended; the sweep covers until it is back');
      }
      // The watch ends on close, or when NATS drops it: start a new one unless closing.
      while (!this.closed) {
        await sleep(1000);
        try {
          await this.watchTasks();
          return;
        } catch (err) {
          this.options.logger.warn({ err }, 'cannot watch tasks yet');
        }
      }
    })();
  }

  private onTaskEntry(entry: KvEntry): void {
    if (entry.operation !== 'PUT' || entry.value.length === 0) return;
    const task = JSON.parse(new TextDecoder().decode(entry.value)) as TaskRecord;
    let byKey = this.tasksByJob.get(task.jobId);
    if (!byKey) this.tasksByJob.set(task.jobId, (byKey = new Map()));
    byKey.set(entry.key, task);
    if (task.state === 'done' || task.state === 'failed') void this.withJob(task.jobId, () => this.checkStage(task.jobId));
  }

  /** Moves the job on when every task of its current stage is done (or fails it). */
  private async checkStage(jobId: string): Promise<void> {
    const record = await getRecord<JobRecord>(this.options.state.jobs, jobId);
    if (!record || record.value.state !== 'running') return;
    const job = record.value;
    const stage = job.stages[job.stage]!;
    // Read from KV, not the watch cache: the watch is only the trigger.
    const tasks = (await tasksOfJob(this.options.state.tasks, jobId)).filter((t) => t.stage === stage);
    const failed = tasks.find((t) => t.state === 'failed');
    if (failed) {
      await this.failJob(jobId, `task ${taskKey(jobId, stage, failed.shardId)} failed: ${failed.error}`);
      return;
    }
    if (tasks.length < job.shards || tasks.some((t) => t.state !== 'done')) return;
    const ordered = tasks.sort((a, b) => a.shardId - b.shardId);
    if (stage === 'fit') await this.mergeFit(job, ordered);
    if (job.stage + 1 < job.stages.length) {
      await updateRecord<JobRecord>(this.options.state.jobs, jobId, (cur) => (cur && cur.state === 'running' && cur.stage === job.stage ? { ...cur, stage: cur.stage + 1, updatedAt: new Date().toISOString() } : null));
      await this.planStage(jobId);
      return;
    }
    const manifestKey = await buildOutputManifest(this.options.storage, job, ordered);
    const now = new Date().toISOString();
    await updateRecord<JobRecord>(this.options.state.jobs, jobId, (cur) => (cur && cur.state === 'running' ? { ...cur, state: 'done', outputManifest: manifestKey, updatedAt: now, finishedAt: now } : null));
    this.options.logger.info({ jobId, manifest: manifestKey }, 'job done');
  }

  private async mergeFit(job: JobRecord, tasks: TaskRecord[]): Promise<void> {
    const model = await mergeFitOutputs(this.options.storage, job.spec, tasks);
    if (model) this.options.logger.info({ jobId: job.id, docs: model.docCount }, 'encoder fitted');
  }

  private async failJob(jobId: string, reason: string): Promise<void> {
    const now = new Date().toISOString();
    await updateRecord<JobRecord>(this.options.state.jobs, jobId, (cur) => (cur && cur.state !== 'done' && cur.state !== 'failed' ? { ...cur, state: 'failed', error: reason, updatedAt: now, finishedAt: now } : null));
    this.options.logger.error({ jobId, reason }, 'job failed');
  }

  private async onMaxDeliveries(advisory: { stream_seq: number; deliveries: number }): Promise<void> {
    const stored = await this.options.state.jsm.streams.getMessage(NAMES.taskStream, { seq: advisory.stream_seq });
    const task = stored.json<TaskMessage>();
    const key = taskKey(task.jobId, task.stage, task.shardId);
    const reason = `no worker finished it in ${advisory.deliveries} deliveries (each ended without ack: a crash or a timeout)`;
    await updateRecord<TaskRecord>(this.options.state.tasks, key, (cur) => (cur && cur.state !== 'done' ? { ...cur, state: 'failed', error: reason } : null));
    await this.withJob(task.jobId, () => this.failJob(task.jobId, `task ${key}: ${reason}`));
  }
}

/** Storage keys without trailing slashes, so output paths are stable prefixes. */
function normaliseKeys(spec: JobSpec): JobSpec {
  const trim = (key: string) => (key.length > 1 ? key.replace(/\/+$/, '') : key);
  if (spec.kind === 'encode') return { ...spec, input: trim(spec.input), output: trim(spec.output) };
  return { ...spec, input: spec.input === null ? null : trim(spec.input), output: trim(spec.output), bm25: spec.bm25 ? { ...spec.bm25, passages: trim(spec.bm25.passages) } : null };
}

function inputSets(spec: JobSpec): string[] {
  if (spec.kind === 'encode') return [spec.input];
  return [...(spec.input ? [spec.input] : []), ...(spec.bm25 ? [spec.bm25.passages] : [])];
}
