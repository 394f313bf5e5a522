import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TASK_BUCKETS } from '../common/index.js';

/** A worker's series: tasks by stage and outcome with their durations, rows processed, and how busy its pool is. */
export class WorkerMetrics {
  readonly tasks: Counter<'stage' | 'outcome'>;
  readonly taskSeconds: Histogram<'stage' | 'outcome'>;
  readonly rows: Counter<'stage'>;

  constructor(
    registry: Registry,
    pool: { encoder: { engine: string; provider: string | null; threads: number }; threads: number; busy: () => number; utilization: () => number },
  ) {
    this.tasks = new Counter({
      name: 'sci_worker_tasks_total',
      help: 'Tasks this worker ended, by stage and outcome (done, failed, retried, handed_back, cancelled)',
      labelNames: ['stage', 'outcome'],
      registers: [registry],
    });
    this.taskSeconds = new Histogram({
      name: 'sci_worker_task_duration_seconds',
      help: 'Time this worker spent on a task, by stage and outcome',
      labelNames: ['stage', 'outcome'],
      buckets: TASK_BUCKETS,
      registers: [registry],
    });
    this.rows = new Counter({
      name: 'sci_worker_rows_total',
      help: 'Rows of finished tasks (rate() of it is rows per second)',
      labelNames: ['stage'],
      registers: [registry],
    });
    new Gauge({
      name: 'sci_worker_encoder_info',
      help: 'Always 1: the inference engine, execution provider and intra-op threads this worker encodes with',
      labelNames: ['engine', 'provider', 'threads'],
      registers: [registry],
    }).set({ engine: pool.encoder.engine, provider: pool.encoder.provider ?? 'none', threads: String(pool.encoder.threads) }, 1);
    new Gauge({ name: 'sci_worker_pool_threads', help: 'Pool threads (tasks run at once)', registers: [registry] }).set(pool.threads);
    new Gauge({
      name: 'sci_worker_busy_threads',
      help: 'Pool threads running a task now',
      registers: [registry],
      collect() {
        this.set(pool.busy());
      },
    });
    new Gauge({
      name: 'sci_worker_pool_utilization',
      help: "Share of the pool's capacity used since it started (piscina's utilization, 0 to 1)",
      registers: [registry],
      collect() {
        this.set(pool.utilization());
      },
    });
  }

  ended(stage: string, outcome: 'done' | 'failed' | 'retried' | 'handed_back' | 'cancelled', seconds: number, rows = 0): void {
    this.tasks.inc({ stage, outcome });
    this.taskSeconds.observe({ stage, outcome }, seconds);
    if (rows > 0) this.rows.inc({ stage }, rows);
  }
}
