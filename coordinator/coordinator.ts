import { ContractError, SciClusterError, toErrorWire, jsonOrUndefined, noteContained, parseContract, type Logger } from '../common/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsError, type KvEntry, type Subscription } from 'nats';
import type { Storage } from '../storage/index.js';
import {
  blankTask,
  createRecord,
  getRecord,
  tasksOfJob,
  JobError,
  JobNotFoundError,
  JobStateError,
  JobSpecSchema,
  JobSubmissionSchema,
  newJobId,
  NAMES,
  TaskFailureReportSchema,
  TaskMessageSchema,
  taskKey,
  updateRecord,
  listJobs,
  type ClusterState,
  type JobRecord,
  type JobSpec,
  type TaskMessage,
  type TaskRecord,
  isJobFinished,
  JobControlRequestSchema,
  JobRecordSchema,
  TaskRecordSchema,
  JOB_ID_PATTERN,
  parseRecord,
  type CorruptRecordError,
} from '../jobs/index.js';
import { retrying, withTimeout } from '../messaging/index.js';
import { completeStage, shardsOfStage, stagesOf } from '../stages/index.js';
import { CoordinatorMetrics } from './metrics.js';
import type { Registry } from 'prom-client';
import { checkSpecAgainstInputs, storageKeysOf } from './spec-checks.js';

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
/** Task states after which nothing more happens to the task (until a retry). */
const ENDED = new Set<TaskRecord['state']>(['done', 'failed', 'cancelled']);
/** How long after a cancel the sweep keeps telling workers to stop the job's running tasks. */
const CANCEL_FOLLOW_MS = 10 * 60_000;
const STEP_TIMEOUT_MS = 120_000;
/** A job step (planning, the fit merge, the output manifest) that fails this often in a row fails its job. */
const MAX_STEP_FAILURES = 3;

export interface CoordinatorOptions {
  state: ClusterState;
  storage: Storage;
  logger: Logger;
  /** Where its Prometheus series go (coordinator/metrics.ts); none when absent. */
  metrics?: Registry;
  /**
   * Fault injection for the fault tests only (never set in deployments): 'stage-publish' fails the
   * second task publish of a job's second stage once, as a NATS node lost mid-election does.
   */
  faultAt?: 'stage-publish' | null;
}

export class Coordinator {
  private readonly tasksByJob = new Map<string, Map<string, TaskRecord>>();
  private readonly jobLocks = new Map<string, Promise<void>>();
  private readonly stepFailures = new Map<string, number>();
  private readonly subscriptions: Subscription[] = [];
  private watcherStop: (() => void) | null = null;
  /** Job records found corrupt (logged once each). */
  private readonly corruptJobs = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly metrics: CoordinatorMetrics | null;
  private readonly startedAt = new Date().toISOString();
  private faultFired = false;

  constructor(private readonly options: CoordinatorOptions) {
    this.metrics = options.metrics
      ? new CoordinatorMetrics(options.metrics, options.state, () => [...this.tasksByJob.values()].flatMap((byKey) => [...byKey.values()]))
      : null;
  }

  async start(): Promise<void> {
    const { nc } = this.options.state;
    this.answerRequests(NAMES.submitSubject, 'job submission', async (data) => {
      let raw: unknown;
      try {
        raw = JSON.parse(new TextDecoder().decode(data));
      } catch (err) {
        throw new JobError('job submission is not JSON', { cause: err });
      }
      return this.submit(raw);
    });
    this.answerRequests(NAMES.controlSubject, 'job control', async (data) => {
      const request = parseContract(JobControlRequestSchema, jsonOrUndefined(data), { what: 'not a job control request', emptyField: 'request' });
      return request.op === 'cancel' ? this.cancel(request.jobId) : this.retry(request.jobId);
    });
    const health = nc.subscribe(NAMES.healthSubject, { queue: 'sci-coordinator' });
    this.subscriptions.push(health);
    void (async () => {
      for await (const msg of health) msg.respond(new TextEncoder().encode(JSON.stringify({ ok: true, role: 'coordinator', pid: process.pid })));
    })();
    // Tasks that exhausted their deliveries (their worker died each time) fail their job.
    const advisory = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${NAMES.taskStream}.${NAMES.workerConsumer}`);
    this.subscriptions.push(advisory);
    void (async () => {
      for await (const msg of advisory)
        void this.onMaxDeliveries(msg.json<TaskAdvisory>()).catch((err) => this.options.logger.error({ err }, 'max-deliveries advisory'));
    })();
    // A terminated task message: workers record the failure first, so this is the backstop (and the trace of a refused, forged message).
    const terminated = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.${NAMES.taskStream}.${NAMES.workerConsumer}`);
    this.subscriptions.push(terminated);
    void (async () => {
      for await (const msg of terminated)
        void this.onTerminated(msg.json<TaskAdvisory>()).catch((err) => this.options.logger.error({ err }, 'terminated-message advisory'));
    })();
    // So do tasks a worker gave up on but could not record: it reports them here before terminating them.
    const reports = nc.subscribe(NAMES.taskFailedSubject, { queue: 'sci-coordinator' });
    this.subscriptions.push(reports);
    void (async () => {
      for await (const msg of reports) {
        const answer = await this.onFailureReport(msg.data).then(
          () => ({ ok: true }),
          (err: unknown) => ({ ok: false, error: err instanceof SciClusterError ? err.message : 'not recorded' }),
        );
        msg.respond(new TextEncoder().encode(JSON.stringify(answer)));
      }
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

  /** Answers requests on `subject` with `{ ok: true, job }` or `{ ok: false, error, code }`. */
  private answerRequests(subject: string, what: string, work: (data: Uint8Array) => Promise<JobRecord>): void {
    const sub = this.options.state.nc.subscribe(subject, { queue: 'sci-coordinator' });
    this.subscriptions.push(sub);
    void (async () => {
      for await (const msg of sub) {
        if (this.closed) break;
        let answer: object;
        try {
          answer = { ok: true, job: await work(msg.data) };
        } catch (err) {
          const wire = toErrorWire(err);
          if (!(err instanceof SciClusterError)) this.options.logger.error({ err }, `${what} failed`);
          answer = {
            ok: false,
            error: err instanceof SciClusterError ? wire.message : `the coordinator could not do the ${what} (see its log)`,
            code: wire.code,
          };
        }
        msg.respond(new TextEncoder().encode(JSON.stringify(answer)));
      }
    })();
  }

  private async sweep(): Promise<void> {
    try {
      for (const job of await listJobs(this.options.state.jobs, (err) => this.noteCorruptJob(err))) {
        if (job.state === 'planning') void this.withJob(job.id, () => this.planStage(job.id));
        else if (job.state === 'running') void this.withJob(job.id, () => this.checkStage(job.id));
        else if (job.state === 'cancelled' && Date.now() - Date.parse(job.finishedAt ?? job.updatedAt) < CANCEL_FOLLOW_MS)
          void this.withJob(job.id, () => this.settleCancelled(job.id));
      }
    } catch (err) {
      this.options.logger.warn({ err, natsServer: this.options.state.nc.info?.server_name }, 'sweep failed; NATS unavailable?');
    }
  }

  /** A job record that breaks its schema: skipped by the sweep (nothing can be planned from it), logged once and counted. */
  private noteCorruptJob(err: CorruptRecordError): void {
    if (this.corruptJobs.has(err.key)) return;
    this.corruptJobs.add(err.key);
    noteContained('coordinator.sweep', err, { key: err.key }, this.options.logger);
    this.metrics?.corruptRecords.inc();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.watcherStop?.();
    for (const sub of this.subscriptions) sub.unsubscribe();
    await Promise.all([...this.jobLocks.values()]);
  }

  /**
   * Validates and records a job, then plans its first stage. A submission under an id the client chose
   * (jobs/client.ts) is idempotent: the same id and spec again answers with the job it made.
   */
  async submit(raw: unknown): Promise<JobRecord> {
    const envelope = JobSubmissionSchema.safeParse(raw);
    const id = envelope.success ? envelope.data.id : newJobId();
    // Every problem of the spec at once: a user fixes them in one go.
    const spec = normaliseKeys(
      parseContract(JobSpecSchema, envelope.success ? envelope.data.spec : raw, {
        what: 'invalid job',
        emptyField: '(root)',
        allIssues: true,
        error: JobError,
      }),
    );
    // Every key must resolve inside the storage root before anything is planned or written.
    for (const [field, key] of storageKeysOf(spec)) {
      try {
        this.options.storage.checkKey(key);
      } catch (err) {
        throw new JobError(`invalid job: ${field}: ${(err as Error).message}`, { field, cause: err });
      }
    }
    const earlier = await this.submittedBefore(id, spec);
    if (earlier) return earlier;
    await checkSpecAgainstInputs(spec, this.options.storage);
    const now = new Date().toISOString();
    const job: JobRecord = {
      id,
      spec,
      state: 'planning',
      stages: stagesOf(spec),
      stage: 0,
      shards: 0,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      outputManifest: null,
      error: null,
    };
    // Retried: right after a host rejoins, the bucket's leader may be in an election (503). A write that did land,
    // or the same submission arriving twice, leaves a record: it is this job's only if it holds this spec.
    if (!(await retrying(`creating job ${id}`, () => createRecord(this.options.state.jobs, id, job)))) {
      const existing = await this.submittedBefore(id, spec);
      if (existing) return existing;
    }
    this.metrics?.jobsSubmitted.inc({ kind: spec.kind });
    this.options.logger.info({ jobId: id, kind: spec.kind }, 'job submitted');
    await this.withJob(id, () => this.planStage(id));
    return (await getRecord(this.options.state.jobs, id, JobRecordSchema))!.value;
  }

  /** The job an earlier delivery of this submission made (same id, same spec); an id taken by another spec is refused. */
  private async submittedBefore(id: string, spec: JobSpec): Promise<JobRecord | null> {
    const existing = await getRecord(this.options.state.jobs, id, JobRecordSchema);
    if (!existing) return null;
    if (JSON.stringify(existing.value.spec) !== JSON.stringify(spec)) throw new JobError(`job id ${id} is taken by another job`, { field: 'id' });
    this.options.logger.info({ jobId: id }, 'job submitted again: answered with the job it made');
    return existing.value;
  }

  /**
   * Cancels a job: it ends `cancelled` at once, its queued tasks are marked cancelled (workers drop their
   * messages), and workers stop its running tasks between batches on the broadcast (repeated by the
   * sweep until none runs). Finished shards keep their outputs, so a retry does not redo them.
   */
  async cancel(jobId: string): Promise<JobRecord> {
    const job = await this.existingJob(jobId);
    if (isJobFinished(job.state)) throw new JobStateError(`job ${jobId} is already ${job.state}`);
    await this.withJob(jobId, async () => {
      const now = new Date().toISOString();
      const cancelled = await updateRecord<JobRecord>(this.options.state.jobs, jobId, JobRecordSchema, (cur) =>
        cur && !isJobFinished(cur.state) ? { ...cur, state: 'cancelled', error: 'cancelled', updatedAt: now, finishedAt: now } : null,
      );
      if (cancelled?.state === 'cancelled' && cancelled.finishedAt === now) this.metrics?.jobsFinished.inc({ kind: cancelled.spec.kind, state: 'cancelled' });
      this.options.logger.info({ jobId }, 'job cancelled');
      await this.settleCancelled(jobId);
    });
    return this.existingJob(jobId);
  }

  /** A cancelled job's tasks: queued ones (and those of workers gone) marked cancelled, running ones told to stop. */
  private async settleCancelled(jobId: string): Promise<void> {
    const { tasks, workers, nc } = this.options.state;
    // Read now, not when the sweep listed it: a retry queued before this step has made the job run again,
    // and a cancel broadcast now would stop its new tasks.
    if ((await getRecord(this.options.state.jobs, jobId, JobRecordSchema))?.value.state !== 'cancelled') return;
    let running = 0;
    for (const task of await tasksOfJob(tasks, jobId)) {
      if (task.state !== 'queued' && task.state !== 'running') continue;
      const workerAlive = task.state === 'running' && task.worker !== null && (await workers.get(task.worker)) !== null;
      if (workerAlive) {
        running += 1;
        continue;
      }
      await updateRecord<TaskRecord>(tasks, taskKey(jobId, task.stage, task.shardId), TaskRecordSchema, (cur) =>
        cur && (cur.state === 'queued' || cur.state === 'running')
          ? { ...cur, state: 'cancelled', finishedAt: new Date().toISOString(), error: 'cancelled with its job before it ran' }
          : null,
      );
    }
    if (running > 0) nc.publish(NAMES.jobCancelledSubject, new TextEncoder().encode(JSON.stringify({ jobId })));
  }

  /**
   * Retries a failed or cancelled job from the stage it stopped in: that stage's unfinished tasks go back
   * to queued and are published again (under new message ids: JetStream would drop a repeat of the old
   * ones as duplicates); finished shards are not redone.
   */
  async retry(jobId: string): Promise<JobRecord> {
    const job = await this.existingJob(jobId);
    if (job.state !== 'failed' && job.state !== 'cancelled')
      throw new JobStateError(`job ${jobId} is ${job.state}; only a failed or cancelled job can be retried`);
    const stage = job.stages[job.stage]!;
    const stageTasks = (await tasksOfJob(this.options.state.tasks, jobId)).filter((t) => t.stage === stage);
    const stillRunning = stageTasks.filter((t) => t.state === 'running');
    if (stillRunning.length > 0)
      throw new JobStateError(`job ${jobId}: shard(s) ${stillRunning.map((t) => t.shardId).join(', ')} are still stopping; retry in a moment`, {
        retryable: true,
      });
    await this.withJob(jobId, async () => {
      for (const task of stageTasks.filter((t) => t.state !== 'done')) {
        await updateRecord<TaskRecord>(this.options.state.tasks, taskKey(jobId, stage, task.shardId), TaskRecordSchema, (cur) =>
          cur && cur.state !== 'done' && cur.state !== 'running' ? { ...blankTask(cur), deliveries: 0 } : null,
        );
      }
      const now = new Date().toISOString();
      await updateRecord<JobRecord>(this.options.state.jobs, jobId, JobRecordSchema, (cur) =>
        cur && (cur.state === 'failed' || cur.state === 'cancelled')
          ? { ...cur, state: 'planning', attempt: (cur.attempt ?? 0) + 1, error: null, finishedAt: null, outputManifest: null, updatedAt: now }
          : null,
      );
      this.options.logger.info({ jobId, stage, shards: stageTasks.filter((t) => t.state !== 'done').length }, 'job retried');
      await this.planStage(jobId);
    });
    return this.existingJob(jobId);
  }

  private async existingJob(jobId: string): Promise<JobRecord> {
    const record = await getRecord(this.options.state.jobs, jobId, JobRecordSchema);
    if (!record) throw new JobNotFoundError(jobId);
    return record.value;
  }

  /** Serialises all work on one job inside this process. */
  private withJob(jobId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.jobLocks.get(jobId) ?? Promise.resolve();
    // Bounded, so one hung call cannot stall the job's later steps (the sweep retries).
    // A step that keeps failing (or cannot succeed) fails the job with its reason rather than leaving it running.
    const next = previous
      .then(() => withTimeout(work(), STEP_TIMEOUT_MS, `a step of job ${jobId}`))
      .then(
        () => void this.stepFailures.delete(jobId),
        async (err: unknown) => {
          // NATS unreachable is not the step's fault (the fault tests restart it): never counted.
          if (isTransportError(err)) return void this.options.logger.warn({ err, jobId }, 'job step failed on NATS; the sweep retries');
          const failures = (this.stepFailures.get(jobId) ?? 0) + 1;
          this.stepFailures.set(jobId, failures);
          const retryable = err instanceof SciClusterError ? err.retryable : true;
          this.options.logger.error({ err, jobId, failures, retryable }, 'job step failed');
          if (!retryable || failures >= MAX_STEP_FAILURES) {
            this.stepFailures.delete(jobId);
            await this.failJob(jobId, `${retryable ? `a job step failed ${failures} times` : 'a job step cannot succeed'}: ${(err as Error).message}`).catch(
              (e: unknown) => this.options.logger.error({ err: e, jobId }, 'cannot record the job failure'),
            );
          }
        },
      );
    this.jobLocks.set(jobId, next);
    return next;
  }

  /** Creates the current stage's task records and publishes the tasks not done yet. */
  private async planStage(jobId: string): Promise<void> {
    const record = await getRecord(this.options.state.jobs, jobId, JobRecordSchema);
    if (!record || isJobFinished(record.value.state)) return;
    const job = record.value;
    const stage = job.stages[job.stage]!;
    let shardIds: number[];
    try {
      shardIds = await shardsOfStage(this.options.storage, job);
    } catch (err) {
      await this.failJob(jobId, `cannot read the input of stage ${stage}: ${(err as Error).message}`);
      return;
    }
    const { js, tasks } = this.options.state;
    const known = this.tasksByJob.get(jobId) ?? new Map<string, TaskRecord>();
    // Where the stream put each task (its sequence), and the ids it dropped as repeats: a stage whose
    // tasks never reach a worker is read from this line.
    const sequences: number[] = [];
    const duplicates: string[] = [];
    for (const shardId of shardIds) {
      const key = taskKey(jobId, stage, shardId);
      const message: TaskMessage = { jobId, stage, shardId, spec: job.spec };
      await createRecord(tasks, key, blankTask(message));
      const current = known.get(key) ?? (await getRecord(tasks, key, TaskRecordSchema))?.value;
      if (current?.state === 'done') continue;
      // A retry's messages need ids of their own: JetStream drops a repeated id as a duplicate.
      const msgID = job.attempt ? `${key}.retry${job.attempt}` : key;
      if (this.options.faultAt === 'stage-publish' && !this.faultFired && job.stage === 1 && sequences.length + duplicates.length === 1) {
        this.faultFired = true;
        throw new NatsError('publish failed (injected fault)', '503');
      }
      const ack = await js.publish(NAMES.taskSubject(stage), new TextEncoder().encode(JSON.stringify(message)), { msgID });
      if (ack.duplicate) duplicates.push(msgID);
      else sequences.push(ack.seq);
    }
    await updateRecord<JobRecord>(this.options.state.jobs, jobId, JobRecordSchema, (cur) =>
      cur && !isJobFinished(cur.state) ? { ...cur, state: 'running', shards: shardIds.length, updatedAt: new Date().toISOString() } : null,
    );
    this.options.logger.info({ jobId, stage, tasks: shardIds.length, published: sequences, duplicates }, 'stage planned');
    await this.checkStage(jobId);
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
    let task: TaskRecord;
    try {
      task = parseRecord(TaskRecordSchema, entry.key, entry.value);
    } catch (err) {
      this.quarantine(err, entry.key);
      return;
    }
    let byKey = this.tasksByJob.get(task.jobId);
    if (!byKey) this.tasksByJob.set(task.jobId, (byKey = new Map()));
    const before = byKey.get(entry.key)?.state;
    byKey.set(entry.key, task);
    // Ended since this coordinator started (the watch first replays every record).
    if (ENDED.has(task.state) && !ENDED.has(before ?? 'queued') && (task.finishedAt ?? '') >= this.startedAt) this.metrics?.taskEnded(task);
    if (task.state === 'done' || task.state === 'failed') void this.withJob(task.jobId, () => this.checkStage(task.jobId));
  }

  /** Moves the job on when every task of its current stage is done (or fails it). */
  private async checkStage(jobId: string): Promise<void> {
    const record = await getRecord(this.options.state.jobs, jobId, JobRecordSchema);
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
    const outcome = await completeStage(this.options.storage, job, tasks, () => tasksOfJob(this.options.state.tasks, jobId));
    if ('next' in outcome) {
      // Back to planning with the next stage: if publishing its tasks fails part-way (a NATS node lost
      // mid-election), the sweep plans the stage again (planning is idempotent), where a running job
      // would wait for tasks never published.
      await updateRecord<JobRecord>(this.options.state.jobs, jobId, JobRecordSchema, (cur) =>
        cur && cur.state === 'running' && cur.stage === job.stage
          ? { ...cur, state: 'planning', stage: outcome.next, updatedAt: new Date().toISOString() }
          : null,
      );
      this.options.logger.info({ jobId, stage, next: job.stages[outcome.next] }, 'stage finished');
      await this.planStage(jobId);
      return;
    }
    const now = new Date().toISOString();
    const finished = await updateRecord<JobRecord>(this.options.state.jobs, jobId, JobRecordSchema, (cur) =>
      cur && cur.state === 'running' ? { ...cur, state: 'done', outputManifest: outcome.manifest, updatedAt: now, finishedAt: now } : null,
    );
    if (finished?.finishedAt === now) this.metrics?.jobsFinished.inc({ kind: job.spec.kind, state: 'done' });
    this.options.logger.info({ jobId, manifest: outcome.manifest }, 'job done');
  }

  /**
   * A task record that breaks its schema: logged and counted, and the job its key names (if it is one)
   * fails with the reason, since its shards can no longer be accounted for. The watch goes on.
   */
  private quarantine(err: unknown, key: string): void {
    noteContained('coordinator.task-watch', err, { key }, this.options.logger);
    this.metrics?.corruptRecords.inc();
    const jobId = key.split('.')[0] ?? '';
    if (!JOB_ID_PATTERN.test(jobId)) return;
    const reason = err instanceof SciClusterError ? err.message : `record ${key} cannot be read`;
    void this.withJob(jobId, () => this.failJob(jobId, reason));
  }

  private async failJob(jobId: string, reason: string): Promise<void> {
    const now = new Date().toISOString();
    const failed = await updateRecord<JobRecord>(this.options.state.jobs, jobId, JobRecordSchema, (cur) =>
      cur && !isJobFinished(cur.state) ? { ...cur, state: 'failed', error: reason, updatedAt: now, finishedAt: now } : null,
    );
    if (failed?.state === 'failed' && failed.finishedAt === now) this.metrics?.jobsFinished.inc({ kind: failed.spec.kind, state: 'failed' });
    this.options.logger.error({ jobId, reason }, 'job failed');
  }

  /** A worker's report of a task that cannot succeed: the task record and the job fail with its reason. */
  private async onFailureReport(data: Uint8Array): Promise<void> {
    const report = parseContract(TaskFailureReportSchema, jsonOrUndefined(data), { what: 'not a task failure report', emptyField: 'report' });
    const key = taskKey(report.jobId, report.stage, report.shardId);
    const current = await getRecord(this.options.state.tasks, key, TaskRecordSchema);
    if (!current) throw new ContractError(`no task ${key}`);
    if (current.value.state === 'done') return;
    const reason = `${report.reason} (reported by ${report.worker}, which could not record it)`;
    await updateRecord<TaskRecord>(this.options.state.tasks, key, TaskRecordSchema, (cur) =>
      cur && cur.state !== 'done' ? { ...cur, state: 'failed', worker: report.worker, finishedAt: new Date().toISOString(), error: reason } : null,
    );
    await this.withJob(report.jobId, () => this.failJob(report.jobId, `task ${key} failed: ${reason}`));
  }

  /** The task message an advisory names; null (logged) when it is gone or breaks its contract. */
  private async taskOfAdvisory(advisory: TaskAdvisory): Promise<TaskMessage | null> {
    const stored = await this.options.state.jsm.streams.getMessage(NAMES.taskStream, { seq: advisory.stream_seq });
    const parsed = TaskMessageSchema.safeParse(stored.json());
    if (!parsed.success) {
      this.options.logger.warn({ seq: advisory.stream_seq }, 'advisory for a message that is not a task');
      return null;
    }
    return parsed.data;
  }

  private async onTerminated(advisory: TaskAdvisory): Promise<void> {
    const task = await this.taskOfAdvisory(advisory).catch(() => null);
    this.options.logger.warn(
      { seq: advisory.stream_seq, deliveries: advisory.deliveries, task: task ? taskKey(task.jobId, task.stage, task.shardId) : null },
      'a worker terminated a task message',
    );
    if (!task) return;
    const key = taskKey(task.jobId, task.stage, task.shardId);
    const current = await getRecord(this.options.state.tasks, key, TaskRecordSchema);
    if (!current || current.value.state === 'done' || current.value.state === 'failed' || current.value.state === 'cancelled') return;
    const reason = 'a worker terminated its message without recording why';
    await updateRecord<TaskRecord>(this.options.state.tasks, key, TaskRecordSchema, (cur) =>
      cur && cur.state !== 'done' && cur.state !== 'failed' && cur.state !== 'cancelled' ? { ...cur, state: 'failed', error: reason } : null,
    );
    await this.withJob(task.jobId, () => this.failJob(task.jobId, `task ${key}: ${reason}`));
  }

  private async onMaxDeliveries(advisory: TaskAdvisory): Promise<void> {
    const task = await this.taskOfAdvisory(advisory);
    if (!task) return;
    const key = taskKey(task.jobId, task.stage, task.shardId);
    const reason = `no worker finished it in ${advisory.deliveries} deliveries (each ended without ack: a crash or a timeout)`;
    this.metrics?.maxDeliveries.inc();
    await updateRecord<TaskRecord>(this.options.state.tasks, key, TaskRecordSchema, (cur) =>
      cur && cur.state !== 'done' && cur.state !== 'cancelled' ? { ...cur, state: 'failed', error: reason } : null,
    );
    await this.withJob(task.jobId, () => this.failJob(task.jobId, `task ${key}: ${reason}`));
  }
}

/** Storage keys without trailing slashes, so output paths are stable prefixes. */
function normaliseKeys(spec: JobSpec): JobSpec {
  const trim = (key: string) => (key.length > 1 ? key.replace(/\/+$/, '') : key);
  if (spec.kind === 'encode' || spec.kind === 'export') return { ...spec, input: trim(spec.input), output: trim(spec.output) };
  if (spec.kind === 'mine')
    return { ...spec, input: trim(spec.input), output: trim(spec.output), queries: { ...spec.queries, passages: trim(spec.queries.passages) } };
  return {
    ...spec,
    input: spec.input === null ? null : trim(spec.input),
    output: trim(spec.output),
    bm25: spec.bm25 ? { ...spec.bm25, passages: trim(spec.bm25.passages) } : null,
  };
}

/** JetStream's consumer advisories (max deliveries, terminated), the fields used here. */
interface TaskAdvisory {
  stream_seq: number;
  deliveries: number;
}

function isTransportError(err: unknown): boolean {
  return err instanceof NatsError || (err instanceof SciClusterError && err.code === 'MESSAGING');
}
