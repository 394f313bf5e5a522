import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NatsServerProcess, connectNats } from '../messaging/index.js';
import {
  getRecord,
  NAMES,
  openClusterState,
  tasksOfJob,
  type ClusterState,
  type JobRecord,
  type JobSpecInput,
  type TaskRecord,
  JobRecordSchema,
} from '../jobs/index.js';
import { spawnSci } from '../cli/sci-process.js';

/*
 * A private cluster for benchmarks: nats-server on loopback, a coordinator
 * and N workers (one pool thread each) as `sci` processes, ready before
 * anything is timed. Plain NATS (the tests cover TLS; this measures the work).
 */

export interface BenchCluster {
  state: ClusterState;
  /** Process ids: the coordinator's and each worker's, and nats-server's. */
  pids: { coordinator: number; workers: number[]; nats: number };
  /** Submits a job; its id. */
  submit(spec: JobSpecInput): Promise<string>;
  /** Waits for a job (one submitted before a restart too: the coordinator resumes it); the record and its tasks. */
  follow(id: string): Promise<{ job: JobRecord; tasks: TaskRecord[] }>;
  /** Submits a job and waits for it. */
  run(spec: JobSpecInput): Promise<{ job: JobRecord; tasks: TaskRecord[] }>;
  stop(): Promise<void>;
}

/** `keepStore`: leave the JetStream store (the jobs' state) in DIR/nats when stopping, for a run that continues after a restart. */
export async function startBenchCluster(dir: string, workers: number, options: { keepStore?: boolean } = {}): Promise<BenchCluster> {
  const nats = await NatsServerProcess.start({ storeDir: join(dir, 'nats') });
  const children: ChildProcess[] = [];
  const env = { ...process.env, SCI_NATS__SERVERS: JSON.stringify([nats.url]), SCI_LOG__LEVEL: 'warn', SCI_LOG__PRETTY: 'false', SCI_STORAGE__ROOT: '/' };
  const sci = (args: string[]) => children.push(spawnSci(args, { env }));
  const nc = await connectNats({ servers: [nats.url], name: 'bench' });
  const state = await openClusterState(nc, { manage: true });
  sci(['coordinator', 'run']);
  for (let i = 0; i < workers; i++) sci(['worker', 'run', '--threads', '1']);
  for (;;) {
    const coordinator = await nc.request(NAMES.healthSubject, new Uint8Array(), { timeout: 500 }).then(
      () => true,
      () => false,
    );
    let announced = 0;
    for await (const _ of await state.workers.keys()) announced += 1;
    if (coordinator && announced >= workers) break;
    await sleep(100);
  }
  const submit = async (spec: JobSpecInput) => {
    const reply = await nc.request(NAMES.submitSubject, new TextEncoder().encode(JSON.stringify(spec)), { timeout: 30_000 });
    const answer = reply.json<{ ok: boolean; job?: JobRecord; error?: string }>();
    if (!answer.ok) throw new Error(answer.error);
    return answer.job!.id;
  };
  const follow = async (id: string) => {
    for (;;) {
      const record = await getRecord(state.jobs, id, JobRecordSchema);
      if (!record) throw new Error(`job ${id} is not in this cluster's state (${join(dir, 'nats')})`);
      const job = record.value;
      if (job.state === 'failed' || job.state === 'cancelled') throw new Error(`job ${job.state}: ${job.error}`);
      if (job.state === 'done') return { job, tasks: await tasksOfJob(state.tasks, job.id) };
      await sleep(50);
    }
  };
  return {
    state,
    pids: { coordinator: children[0]!.pid!, workers: children.slice(1).map((c) => c.pid!), nats: nats.pid! },
    submit,
    follow,
    run: async (spec) => follow(await submit(spec)),
    async stop() {
      for (const child of children) child.kill('SIGKILL');
      await nc.close();
      await nats.stop({ clean: options.keepStore !== true });
    },
  };
}

/** Seconds a task ran, from its record. */
export function taskSeconds(task: TaskRecord): number {
  return task.startedAt && task.finishedAt ? (Date.parse(task.finishedAt) - Date.parse(task.startedAt)) / 1000 : 0;
}
