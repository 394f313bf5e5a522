import { hostname, totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Piscina } from 'piscina';
import type { JsMsg, Subscription } from 'nats';
import {
  type Logger,
  CancelledError,
  isCancellation,
  messageWithLocation,
  noteContained,
  SciClusterError,
  jsonOrUndefined,
  parseContract,
} from '../common/index.js';
import type { Storage } from '../storage/index.js';
import {
  JOB_ID_PATTERN,
  NAMES,
  taskKey,
  updateRecord,
  getRecord,
  TaskMessageSchema,
  blankTask,
  type ClusterState,
  type TaskMessage,
  type TaskRecord,
  JobRecordSchema,
  TaskRecordSchema,
  CorruptRecordError,
} from '../jobs/index.js';
import { runTask } from './task-runner.js';
import { POOL_ENTRY } from '../stages/index.js';
import { plannedEngine, type EncoderSettings } from '../encoder/index.js';
import { WorkerMetrics } from './metrics.js';
import type { Registry } from 'prom-client';
import { retrying, withTimeout } from '../messaging/index.js';

/*
 * A worker process: pulls tasks from the shared durable consumer, at most
 * `concurrency` at a time (one pull loop per pool thread, so a crash loses
 * at most that many in-flight tasks to redelivery), runs them in a piscina
 * pool, heartbeats `working()` while a task runs, acks only after its
 * outputs are published and its record says done. Retryable failures nak
 * with backoff; fatal ones and the last delivery terminate the task and
 * record the reason.
 */

export type WorkerState = 'starting' | 'running' | 'draining' | 'stopped';

/** Where a worker may be told to crash itself (SIGKILL) in its first task: fault-injection tests. */
export type CrashPoint = 'task-start' | 'before-publish' | 'before-ack';

export interface WorkerOptions {
  state: ClusterState;
  storage: Storage;
  logger: Logger;
  /** Pool threads = tasks run at once. @defaultValue 1 */
  concurrency?: number;
  /** @defaultValue a random id */
  id?: string;
  /** Fault injection: SIGKILL this process at that point of its first task. @defaultValue null */
  crashAt?: CrashPoint | null;
  /** Fault injection: every task-record update after 'running' fails (as when KV is unreachable). @defaultValue false */
  failRecordUpdates?: boolean;
  /** Fault injection: each delivery waits this long before recording its task running (a slow quorum write). @defaultValue 0 */
  slowRunningRecordMs?: number;
  /** Where its Prometheus series go (workers/metrics.ts); none when absent. */
  metrics?: Registry;
  /** Inference engine settings of its pool threads (config workers.encoder). @defaultValue auto engine, 1 thread */
  encoder?: EncoderSettings;
}

const PULL_EXPIRES_MS = 2000;

export class Worker {
  readonly id: string;
  private status: WorkerState = 'starting';
  private readonly pool: Piscina;
  private readonly inFlight = new Set<JsMsg>();
  /** One per running task: aborted when a stop's grace runs out, so the task stops between batches and is handed back. */
  private readonly taskAborts = new Set<AbortController>();
  /** The same, by job: a cancelled job's tasks stop on the coordinator's broadcast. */
  private readonly abortsByJob = new Map<string, Set<AbortController>>();
  private cancelSubscription: Subscription | null = null;
  private readonly loops: Promise<void>[] = [];
  private readonly stopPulling = new AbortController();
  private announceTimer: NodeJS.Timeout | null = null;
  private tasksDone = 0;
  private rowsDone = 0;
  private readonly startedAt = Date.now();
  private readonly metrics: WorkerMetrics | null;
  /** The engine its pool threads open checkpoints on (announced; each thread logs what it really opened). */
  private readonly encoder: ReturnType<typeof plannedEngine>;

  constructor(private readonly options: WorkerOptions) {
    this.id = options.id ?? `worker-${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    this.pool = new Piscina({
      filename: POOL_ENTRY,
      minThreads: this.concurrency,
      maxThreads: this.concurrency,
      idleTimeout: 60_000,
      workerData: { encoder: options.encoder ?? {}, logLevel: options.logger.level },
    });
    this.encoder = plannedEngine(options.encoder);
    this.metrics = options.metrics
      ? new WorkerMetrics(options.metrics, {
          encoder: this.encoder,
          threads: this.concurrency,
          busy: () => this.taskAborts.size,
          utilization: () => this.pool.utilization,
        })
      : null;
  }

  get concurrency(): number {
    return this.options.concurrency ?? 1;
  }

  get state(): WorkerState {
    return this.status;
  }

  async start(): Promise<void> {
    this.cancelSubscription = this.options.state.nc.subscribe(NAMES.jobCancelledSubject);
    void (async () => {
      for await (const msg of this.cancelSubscription!) {
        const jobId = (jsonOrUndefined(msg.data) as { jobId?: unknown } | undefined)?.jobId;
        if (typeof jobId === 'string' && JOB_ID_PATTERN.test(jobId)) this.cancelJob(jobId);
      }
    })();
    // A JetStream cluster that is still electing its leaders answers 503 for a while (all processes start together on a deployment).
    await retrying('announcing the worker', () => this.announce(), { timeoutMs: 120_000 });
    this.announceTimer = setInterval(() => void this.announce().catch(() => undefined), 5000);
    this.status = 'running';
    for (let i = 0; i < this.concurrency; i++) this.loops.push(this.pullLoop());
    this.options.logger.info({ worker: this.id, concurrency: this.concurrency, storage: this.options.storage.kind, encoder: this.encoder }, 'worker running');
  }

  /**
   * Stops pulling, lets in-flight tasks finish within `graceMs`, naks what is
   * left (redelivered to other workers at once). Returns whether tasks were
   * cut off: their native work is still running in pool threads, so the
   * caller should exit the process rather than wait for it.
   */
  async stop(graceMs = 30_000): Promise<{ forced: boolean }> {
    if (this.status === 'stopped') return { forced: false };
    this.status = 'draining';
    this.stopPulling.abort();
    this.cancelSubscription?.unsubscribe();
    const drained = Promise.all(this.loops);
    let timedOut = await Promise.race([drained.then(() => false), sleep(graceMs, true, { ref: false })]);
    if (timedOut) {
      // Past the grace: running tasks are cancelled (they stop at their next batch) and hand themselves back.
      for (const controller of this.taskAborts) controller.abort(new CancelledError('the worker is stopping'));
      timedOut = await Promise.race([drained.then(() => false), sleep(CANCEL_UNWIND_MS, true, { ref: false })]);
    }
    // Still in a native call after that: hand the messages back without waiting.
    const naked = timedOut ? this.inFlight.size : 0;
    if (timedOut) for (const msg of this.inFlight) msg.nak();
    if (this.announceTimer) clearInterval(this.announceTimer);
    // Bounded: with NATS gone, a delete would wait for a reconnect forever.
    await withTimeout(this.options.state.workers.delete(this.id), 2000, 'removing the worker record').catch(() => undefined);
    // Destroying the pool under a running native call is not safe; a forced stop leaves it to process exit.
    if (!timedOut) await this.pool.destroy();
    this.status = 'stopped';
    this.options.logger.info({ worker: this.id, tasksDone: this.tasksDone, naked }, 'worker stopped');
    return { forced: timedOut };
  }

  /**
   * Stops this worker's running tasks of a cancelled job (between batches). A task that starts just
   * after the broadcast is caught by the coordinator's repeat of it, or sees the job cancelled when
   * it is received.
   */
  private cancelJob(jobId: string): void {
    const aborts = this.abortsByJob.get(jobId);
    if (!aborts) return;
    this.options.logger.info({ jobId, tasks: aborts.size }, 'job cancelled: stopping its tasks');
    for (const controller of aborts) controller.abort(new JobCancelledError(jobId));
  }

  /** A rejected promise when record updates are made to fail (fault injection), else null. */
  private recordUpdate(): Promise<never> | null {
    return this.options.failRecordUpdates ? Promise.reject(new Error('task record update failed (fault injection)')) : null;
  }

  private maybeCrash(point: CrashPoint): void {
    crashIf(point, this.options.crashAt, this.tasksDone === 0);
  }

  private async announce(): Promise<void> {
    const info = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      threads: this.concurrency,
      backend: this.encoder.provider ? `${this.encoder.engine}/${this.encoder.provider}` : this.encoder.engine,
      encoder: this.encoder,
      memoryBytes: totalmem(),
      storage: this.options.storage.kind,
      status: this.status,
      startedAt: new Date(this.startedAt).toISOString(),
      heartbeatAt: new Date().toISOString(),
      tasksDone: this.tasksDone,
      rowsDone: this.rowsDone,
      busyThreads: this.taskAborts.size,
    };
    await this.options.state.workers.put(this.id, new TextEncoder().encode(JSON.stringify(info)));
  }

  private async pullLoop(): Promise<void> {
    const { js } = this.options.state;
    const signal = this.stopPulling.signal;
    while (!signal.aborted) {
      let msg: JsMsg | null = null;
      try {
        const consumer = await js.consumers.get(NAMES.taskStream, NAMES.workerConsumer);
        // A watchdog besides `expires`: a pull that never returns must not stall this loop.
        // A message that still arrives for an abandoned pull is handed back at once.
        const watchdog = new AbortController();
        const pull = consumer.next({ expires: PULL_EXPIRES_MS });
        const timedOut = Symbol('timed out');
        const first = await Promise.race([pull, sleep(PULL_EXPIRES_MS + 5000, timedOut, { signal: watchdog.signal }).catch(() => null)]);
        watchdog.abort();
        if (first === timedOut) {
          void pull.then(
            (late) => late?.nak(),
            () => undefined,
          );
          msg = null;
        } else {
          msg = first as JsMsg | null;
        }
      } catch (err) {
        this.options.logger.warn({ err }, 'pull failed; retrying');
        await sleep(500);
        continue;
      }
      if (!msg) {
        this.options.logger.debug('pull returned nothing');
        continue;
      }
      if (signal.aborted) {
        msg.nak();
        break;
      }
      this.inFlight.add(msg);
      try {
        await this.handle(msg);
      } catch (err) {
        if (err instanceof CorruptRecordError) {
          // The task's record breaks its schema: no delivery can mend it, and the coordinator fails its job.
          noteContained('worker.task', err, { seq: msg.info.streamSequence }, this.options.logger);
          msg.term();
          continue;
        }
        // Bookkeeping failed (NATS unreachable): hand the task back and keep pulling.
        this.options.logger.warn({ err }, 'task bookkeeping failed; naking it for redelivery');
        try {
          msg.nak(1000);
        } catch {
          // The ack wait redelivers it anyway.
        }
      } finally {
        this.inFlight.delete(msg);
        // Tasks done and busy threads as they are now, not at the next heartbeat.
        void this.announce().catch(() => undefined);
      }
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    // The ack wait runs from the delivery, so the heartbeat starts with it. It used to start after
    // the record reads and writes before the run (KV round trips, quorum writes on a replicated
    // cluster): a delivery whose writes outlasted the ack wait went to another worker as well,
    // which found no finished record and ran the task a second time.
    const heartbeat = setInterval(() => msg.working(), Math.max(500, this.options.state.options.ackWaitMs / 3));
    try {
      await this.runDelivery(msg);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** One delivery of a task message: checked, recorded running, run, recorded done and acked (or failed). */
  private async runDelivery(msg: JsMsg): Promise<void> {
    const { tasks } = this.options.state;
    const task = await this.checkedTask(msg);
    if (!task) return;
    const key = taskKey(task.jobId, task.stage, task.shardId);
    const log = this.options.logger.child({ jobId: task.jobId, stage: task.stage, shardId: task.shardId, delivery: msg.info.deliveryCount });
    log.debug('task received');
    const existing = await getRecord(tasks, key, TaskRecordSchema);
    if (existing?.value.state === 'done') {
      // Redelivered after it was done (the ack was lost): its outputs are published.
      msg.ack();
      return;
    }
    const now = () => new Date().toISOString();
    log.debug({ existing: existing?.value.state ?? null }, 'task record read');
    if (this.options.slowRunningRecordMs) await sleep(this.options.slowRunningRecordMs);
    await updateRecord<TaskRecord>(tasks, key, TaskRecordSchema, (cur) => ({
      ...blankTask(task),
      ...cur,
      state: 'running',
      worker: this.id,
      deliveries: msg.info.deliveryCount,
      startedAt: now(),
      error: null,
    }));
    log.debug('task record running');
    this.maybeCrash('task-start');
    const started = performance.now();
    let lastProgress = 0;
    let result;
    const abort = new AbortController();
    this.taskAborts.add(abort);
    const jobAborts = this.abortsByJob.get(task.jobId) ?? new Set<AbortController>();
    this.abortsByJob.set(task.jobId, jobAborts.add(abort));
    // The worker record shows busy threads at once (the dashboard), not at the next heartbeat.
    void this.announce().catch(() => undefined);
    try {
      result = await runTask(task, this.options.storage, this.pool, {
        signal: abort.signal,
        beforePublish: () => this.maybeCrash('before-publish'),
        onProgress: (p) => {
          const t = performance.now();
          if (t - lastProgress < 500) return;
          lastProgress = t;
          this.options.state.nc.publish(
            NAMES.progressSubject(task.jobId),
            new TextEncoder().encode(
              JSON.stringify({
                worker: this.id,
                stage: task.stage,
                shardId: task.shardId,
                rows: p.rows,
                total: p.total,
                rowsPerSecond: p.rows / ((t - started) / 1000),
              }),
            ),
          );
        },
      });
    } catch (err) {
      // Still heartbeating while the failure is recorded (retries may take a while): no redelivery meanwhile.
      const outcome =
        abort.signal.reason instanceof JobCancelledError ? await this.cancelledWithJob(msg, key, log) : await this.failed(msg, task, key, err, log);
      this.metrics?.ended(task.stage, outcome, (performance.now() - started) / 1000);
      return;
    } finally {
      this.taskAborts.delete(abort);
      jobAborts.delete(abort);
      if (jobAborts.size === 0) this.abortsByJob.delete(task.jobId);
    }
    try {
      // Done is recorded before the ack: a lost ack only causes a redelivery that acks at once.
      await retrying(
        'recording a finished task',
        () =>
          this.recordUpdate() ??
          updateRecord<TaskRecord>(tasks, key, TaskRecordSchema, (cur) => ({
            ...blankTask(task),
            ...cur,
            state: 'done',
            worker: this.id,
            finishedAt: now(),
            rowsIn: result.rowsIn,
            rowsWritten: result.rowsWritten,
            rowsRejected: result.rowsRejected,
            outputs: result.outputs,
            error: null,
          })),
      );
      this.maybeCrash('before-ack');
      await msg.ackAck();
      this.tasksDone += 1;
      this.rowsDone += result.rowsIn;
      this.metrics?.ended(task.stage, 'done', (performance.now() - started) / 1000, result.rowsIn);
      log.info({ rows: result.rowsIn, seconds: (performance.now() - started) / 1000 }, 'task done');
    } catch (err) {
      log.warn({ err }, 'task done but not acknowledged; its redelivery will ack it');
    }
  }

  /** Asks the coordinator to record a failure this worker could not; returns whether it did. */
  private async reportFailure(task: TaskMessage, reason: string, log: Logger): Promise<boolean> {
    const report = { jobId: task.jobId, stage: task.stage, shardId: task.shardId, worker: this.id, reason: reason.slice(0, 4000) };
    try {
      const reply = await retrying(
        'reporting a task failure',
        () => this.options.state.nc.request(NAMES.taskFailedSubject, new TextEncoder().encode(JSON.stringify(report)), { timeout: 5000 }),
        { timeoutMs: 15_000 },
      );
      const answer = reply.json<{ ok: boolean; error?: string }>();
      if (!answer.ok) log.error({ error: answer.error }, 'the coordinator refused the failure report');
      return answer.ok;
    } catch (err) {
      log.error({ err }, 'cannot report the task failure');
      return false;
    }
  }

  /**
   * The message checked against the task contract and against its job: a
   * forged or stale message (no such job, another spec, a stage the job does
   * not have) is terminated, never run. The coordinator hears of it through
   * the terminated advisory.
   */
  private async checkedTask(msg: JsMsg): Promise<TaskMessage | null> {
    let task: TaskMessage | null = null;
    let problem: string | null = null;
    try {
      task = parseContract(TaskMessageSchema, jsonOrUndefined(msg.data), { what: 'not a task message', emptyField: 'message' });
    } catch (err) {
      problem = (err as Error).message;
    }
    if (task) {
      const job = await getRecord(this.options.state.jobs, task.jobId, JobRecordSchema);
      if (job?.value.state === 'cancelled') {
        await this.dropCancelled(msg, task);
        return null;
      }
      if (!job) problem = `no job ${task.jobId}`;
      else if (JSON.stringify(job.value.spec) !== JSON.stringify(task.spec)) problem = `task spec differs from job ${task.jobId}'s`;
      else if (!job.value.stages.includes(task.stage)) problem = `job ${task.jobId} has no stage ${task.stage}`;
      else {
        try {
          for (const key of [task.spec.input, task.spec.output]) if (key) this.options.storage.checkKey(key);
        } catch (err) {
          problem = (err as Error).message;
        }
      }
    }
    if (problem === null) return task;
    this.options.logger.warn({ seq: msg.seq, problem }, 'refused a task message');
    // No reason argument: nats-server before 2.10 ignores "+TERM <reason>" (and redelivers).
    msg.term();
    return null;
  }

  /** A queued task of a cancelled job: recorded cancelled (unless it finished) and its message acked, not run. */
  private async dropCancelled(msg: JsMsg, task: TaskMessage): Promise<void> {
    await updateRecord<TaskRecord>(this.options.state.tasks, taskKey(task.jobId, task.stage, task.shardId), TaskRecordSchema, (cur) =>
      !cur || cur.state === 'queued' ? { ...blankTask(task), ...cur, state: 'cancelled', error: 'cancelled with its job before it ran' } : null,
    );
    msg.ack();
  }

  /** A task stopped because its job was cancelled: recorded as such (while still this worker's run), and done with. */
  private async cancelledWithJob(msg: JsMsg, key: string, log: Logger): Promise<'cancelled'> {
    await retrying(
      'recording a cancelled task',
      () =>
        this.recordUpdate() ??
        updateRecord<TaskRecord>(this.options.state.tasks, key, TaskRecordSchema, (cur) =>
          cur?.state === 'running' && cur.worker === this.id
            ? { ...cur, state: 'cancelled', finishedAt: new Date().toISOString(), error: 'cancelled with its job while running' }
            : null,
        ),
      { timeoutMs: 10_000 },
    ).catch((recordErr: unknown) => log.error({ err: recordErr }, 'cannot record the cancelled task'));
    msg.ack();
    log.info('task cancelled with its job');
    return 'cancelled';
  }

  /** Records a failed run: failed for good, handed back (a stop), or back in the queue for a retry; returns which. */
  private async failed(msg: JsMsg, task: TaskMessage, key: string, err: unknown, log: Logger): Promise<'failed' | 'handed_back' | 'retried'> {
    const { maxDeliver } = this.options.state.options;
    const last = msg.info.deliveryCount >= maxDeliver;
    // Decided by the error's own type: an input or spec error cannot pass on a retry.
    // Cancelled because this worker is stopping: not the task's fault, it goes back at once.
    const handedBack = isCancellation(err) && this.status === 'draining';
    const cannotSucceed = !handedBack && (err instanceof SciClusterError ? !err.retryable : false);
    const fatal = cannotSucceed || (last && !handedBack);
    // One reason however the stop reached the task (before its thread took it, or between batches in it).
    const reason = handedBack
      ? 'handed back: cancelled because its worker is stopping'
      : `${fatal && !cannotSucceed ? `failed on delivery ${msg.info.deliveryCount} of ${maxDeliver}: ` : ''}${messageWithLocation(err)}`;
    try {
      await retrying(
        'recording a failed task',
        () =>
          this.recordUpdate() ??
          updateRecord<TaskRecord>(this.options.state.tasks, key, TaskRecordSchema, (cur) =>
            cur?.state === 'done'
              ? null
              : { ...blankTask(task), ...cur, state: fatal ? 'failed' : 'queued', worker: this.id, finishedAt: new Date().toISOString(), error: reason },
          ),
        { timeoutMs: 10_000 },
      );
    } catch (recordErr) {
      log.error({ err: recordErr }, 'cannot record the task failure');
      // Terminating an unrecorded failure would leave the job running: the coordinator records
      // it instead; if it cannot be reached either, the task goes back for another delivery.
      if (fatal && !(await this.reportFailure(task, reason, log))) {
        msg.nak(1000);
        return 'retried';
      }
    }
    if (fatal) msg.term();
    else msg.nak(handedBack ? 0 : Math.min(30_000, 1000 * 2 ** (msg.info.deliveryCount - 1)));
    if (handedBack) log.info('task cancelled by the stop and handed back');
    else log.warn({ err, fatal }, 'task failed');
    return handedBack ? 'handed_back' : fatal ? 'failed' : 'retried';
  }
}

/** Why a task's signal was aborted when its job was cancelled (not a stop of this worker). */
class JobCancelledError extends CancelledError {
  constructor(jobId: string) {
    super(`job ${jobId} was cancelled`);
  }
}

/** How long cancelled tasks get to reach their next batch boundary after a stop's grace. */
const CANCEL_UNWIND_MS = 10_000;

function crashIf(point: CrashPoint, configured: CrashPoint | null | undefined, firstTask: boolean): void {
  if (configured === point && firstTask) process.kill(process.pid, 'SIGKILL');
}
