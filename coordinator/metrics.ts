import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TASK_BUCKETS } from '../common/index.js';
import { listJobs, NAMES, type ClusterState, type JobRecord, type TaskRecord } from '../jobs/index.js';

/*
 * The coordinator's series: jobs and tasks by state (read from KV and the
 * task watch's cache when Prometheus scrapes), task durations as they finish,
 * and the work queue as JetStream reports its consumer (pending,
 * waiting for an ack, redelivered, pulls waiting).
 */

export class CoordinatorMetrics {
  readonly taskSeconds: Histogram<'stage' | 'state'>;
  readonly jobsSubmitted: Counter<'kind'>;
  readonly jobsFinished: Counter<'kind' | 'state'>;
  readonly maxDeliveries: Counter;
  readonly corruptRecords: Counter;

  constructor(registry: Registry, state: ClusterState, tasks: () => Iterable<TaskRecord>) {
    this.taskSeconds = new Histogram({
      name: 'sci_task_duration_seconds',
      help: 'Time from a task starting to it ending, by stage and end state',
      labelNames: ['stage', 'state'],
      buckets: TASK_BUCKETS,
      registers: [registry],
    });
    this.jobsSubmitted = new Counter({ name: 'sci_jobs_submitted_total', help: 'Jobs accepted, by kind', labelNames: ['kind'], registers: [registry] });
    this.jobsFinished = new Counter({
      name: 'sci_jobs_finished_total',
      help: 'Jobs that ended, by kind and state (done, failed, cancelled)',
      labelNames: ['kind', 'state'],
      registers: [registry],
    });
    this.maxDeliveries = new Counter({
      name: 'sci_task_max_deliveries_total',
      help: 'Tasks failed because no worker finished them within the delivery limit',
      registers: [registry],
    });
    this.corruptRecords = new Counter({
      name: 'sci_corrupt_records_total',
      help: 'Job and task records that broke their schema (quarantined: skipped, their job failed)',
      registers: [registry],
    });
    new Gauge({
      name: 'sci_jobs',
      help: 'Job records by state',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        const counts = new Map<JobRecord['state'], number>();
        for (const job of await listJobs(state.jobs)) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
        for (const [jobState, n] of counts) this.set({ state: jobState }, n);
      },
    });
    new Gauge({
      name: 'sci_tasks',
      help: 'Task records by state and stage',
      labelNames: ['state', 'stage'],
      registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const task of tasks()) counts.set(`${task.state}\0${task.stage}`, (counts.get(`${task.state}\0${task.stage}`) ?? 0) + 1);
        for (const [key, n] of counts) {
          const [taskState, stage] = key.split('\0');
          this.set({ state: taskState!, stage: stage! }, n);
        }
      },
    });
    const consumer = () => state.jsm.consumers.info(NAMES.taskStream, NAMES.workerConsumer);
    const queueGauge = (name: string, help: string, read: (info: Awaited<ReturnType<typeof consumer>>) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          this.set(read(await consumer()));
        },
      });
    queueGauge('sci_work_queue_pending_messages', 'Task messages not yet delivered to any worker', (i) => i.num_pending);
    queueGauge('sci_work_queue_ack_pending_messages', 'Task messages delivered and not yet acknowledged (running or lost)', (i) => i.num_ack_pending);
    queueGauge('sci_work_queue_redelivered_messages', 'Task messages delivered more than once and not yet acknowledged', (i) => i.num_redelivered);
    queueGauge('sci_work_queue_waiting_pulls', 'Worker pull requests waiting for a task', (i) => i.num_waiting);
  }

  /** A task record that just ended (done, failed, cancelled) after it started. */
  taskEnded(task: TaskRecord): void {
    if (!task.startedAt || !task.finishedAt) return;
    const seconds = (Date.parse(task.finishedAt) - Date.parse(task.startedAt)) / 1000;
    if (seconds >= 0) this.taskSeconds.observe({ stage: task.stage, state: task.state }, seconds);
  }
}
