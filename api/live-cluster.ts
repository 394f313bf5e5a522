import type { KvEntry, QueuedIterator, Subscription } from 'nats';
import { jsonOrUndefined, noteContained, parseContract, type Logger } from '../common/index.js';
import {
  JobRecordSchema,
  jobStatus,
  listWorkers,
  NAMES,
  parseRecord,
  TaskProgressSchema,
  TaskRecordSchema,
  type ClusterState,
  type JobRecord,
  type TaskRecord,
} from '../jobs/index.js';

/*
 * What the dashboard shows, kept current from the cluster itself: job and
 * task records from KV watches, each running task's rows from the workers'
 * progress messages, and the workers' heartbeat records (read every few
 * seconds). Subscribers hear which jobs changed; one instance serves every
 * browser connected to this API process.
 */

/** A job as the dashboard draws it: its current stage shard by shard. */
export interface DashboardJob {
  id: string;
  kind: string;
  state: JobRecord['state'];
  stage: string;
  stageIndex: number;
  stages: string[];
  attempt: number;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  output: string;
  shards: Array<{ shard: number; state: TaskRecord['state']; rows: number; total: number; rowsPerSecond: number; worker: string | null; error: string | null }>;
  done: number;
  total: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
}

export interface DashboardWorker {
  id: string;
  host: string;
  status: string;
  threads: number;
  busyThreads: number;
  tasksDone: number;
  rowsDone: number;
  heartbeatAt: string;
}

interface LiveProgress {
  rows: number;
  total: number;
  rowsPerSecond: number;
  at: number;
}

/** Jobs a snapshot carries: the newest ones. */
const MAX_JOBS = 50;

export class LiveCluster {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly tasks = new Map<string, Map<string, TaskRecord>>();
  private readonly progress = new Map<string, LiveProgress>();
  private workerList: DashboardWorker[] = [];
  private readonly listeners = new Set<(jobIds: string[], workers: boolean) => void>();
  private readonly stops: Array<() => void> = [];

  private constructor(
    private readonly state: ClusterState,
    private readonly logger: Logger,
  ) {}

  static async start(state: ClusterState, logger: Logger): Promise<LiveCluster> {
    const live = new LiveCluster(state, logger);
    await live.follow(await state.jobs.watch({ key: '>' }), (entry) => {
      const job = parseRecord(JobRecordSchema, entry.key, entry.value);
      live.jobs.set(job.id, job);
      return job.id;
    });
    await live.follow(await state.tasks.watch({ key: '>' }), (entry) => {
      const task = parseRecord(TaskRecordSchema, entry.key, entry.value);
      if (!live.tasks.has(task.jobId)) live.tasks.set(task.jobId, new Map());
      live.tasks.get(task.jobId)!.set(entry.key, task);
      if (task.state !== 'running') live.progress.delete(entry.key);
      return task.jobId;
    });
    const progress: Subscription = state.nc.subscribe(NAMES.progressAll);
    live.stops.push(() => progress.unsubscribe());
    void (async () => {
      for await (const msg of progress) {
        try {
          const p = parseContract(TaskProgressSchema, jsonOrUndefined(msg.data), { what: 'progress message', emptyField: 'message' });
          const jobId = msg.subject.slice('sci.progress.'.length);
          // Only jobs this API knows: a peer cannot grow the map with made-up job ids.
          if (!live.jobs.has(jobId)) continue;
          live.progress.set(`${jobId}.${p.stage}.${p.shardId}`, { rows: p.rows, total: p.total ?? 0, rowsPerSecond: p.rowsPerSecond, at: Date.now() });
          live.notify([jobId], false);
        } catch (err) {
          noteContained('api.progress', err, { subject: msg.subject }, logger);
        }
      }
    })();
    await live.readWorkers();
    const timer = setInterval(() => void live.readWorkers().catch((err: unknown) => logger.debug({ err }, 'reading workers failed')), 2000);
    live.stops.push(() => clearInterval(timer));
    return live;
  }

  /** Calls `listener` with the ids of jobs that changed (and whether the worker list did); returns the unsubscribe. */
  subscribe(listener: (jobIds: string[], workers: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): { jobs: DashboardJob[]; workers: DashboardWorker[] } {
    const jobs = [...this.jobs.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, MAX_JOBS);
    return { jobs: jobs.map((j) => this.job(j.id)!), workers: this.workerList };
  }

  workers(): DashboardWorker[] {
    return this.workerList;
  }

  job(id: string): DashboardJob | null {
    const job = this.jobs.get(id);
    if (!job) return null;
    const tasks = [...(this.tasks.get(id)?.values() ?? [])];
    const status = jobStatus(job, tasks);
    const stage = status.stage;
    const ofStage = tasks.filter((t) => t.stage === stage).sort((a, b) => a.shardId - b.shardId);
    const shards = ofStage.map((t) => {
      const live = t.state === 'running' ? this.progress.get(`${id}.${stage}.${t.shardId}`) : undefined;
      return {
        shard: t.shardId,
        state: t.state,
        rows: t.state === 'done' ? t.rowsIn : (live?.rows ?? 0),
        total: t.state === 'done' ? t.rowsIn : (live?.total ?? 0),
        rowsPerSecond: live?.rowsPerSecond ?? 0,
        worker: t.worker,
        error: t.error,
      };
    });
    const liveRate = shards.reduce((sum, s) => sum + s.rowsPerSecond, 0);
    return {
      id,
      kind: job.spec.kind,
      state: job.state,
      stage,
      stageIndex: job.stage,
      stages: job.stages,
      attempt: job.attempt ?? 0,
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
      error: job.error,
      output: job.spec.output,
      shards,
      done: status.tasks.done,
      total: status.tasks.total,
      rowsPerSecond: job.state === 'running' ? Math.max(liveRate, status.rows.perSecond) : status.rows.perSecond,
      etaSeconds: status.rows.etaSeconds,
    };
  }

  stop(): void {
    for (const stop of this.stops) stop();
    this.listeners.clear();
  }

  private async follow(watch: QueuedIterator<KvEntry>, apply: (entry: KvEntry) => string): Promise<void> {
    this.stops.push(() => watch.stop());
    void (async () => {
      try {
        for await (const entry of watch) {
          if (entry.operation !== 'PUT' || entry.value.length === 0) continue;
          try {
            this.notify([apply(entry)], false);
          } catch (err) {
            // A corrupt record is left out of the dashboard; the watch goes on.
            noteContained('api.record-watch', err, { key: entry.key }, this.logger);
          }
        }
      } catch (err) {
        this.logger.warn({ err }, 'dashboard watch ended');
      }
    })();
  }

  private async readWorkers(): Promise<void> {
    const workers: DashboardWorker[] = [];
    for (const w of await listWorkers(this.state.workers, (err) => noteContained('api.workers', err, { key: err.key }, this.logger))) {
      workers.push({
        id: w.id,
        host: w.host,
        status: w.status,
        threads: w.threads,
        busyThreads: w.busyThreads ?? 0,
        tasksDone: w.tasksDone,
        rowsDone: w.rowsDone,
        heartbeatAt: w.heartbeatAt,
      });
    }
    const changed = JSON.stringify(workers) !== JSON.stringify(this.workerList);
    this.workerList = workers;
    if (changed) this.notify([], true);
  }

  private notify(jobIds: string[], workers: boolean): void {
    for (const listener of this.listeners) listener(jobIds, workers);
  }
}
