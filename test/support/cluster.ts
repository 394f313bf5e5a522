import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NatsConnection } from 'nats';
import { NatsServerProcess, connectNats, createSecurityBundle, freePort, startNatsCluster, type SecurityBundle } from '../../messaging/index.js';
import { clusterServerSecurity, inboxPrefixOf, NATS_ROLES, type NatsRole } from '../../access/index.js';
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
} from '../../jobs/index.js';
import { spawnSci } from '../../cli/sci-process.js';

/*
 * A real cluster for integration tests: nats-server process(es) on loopback
 * with a temp store, the coordinator and workers as `sci` child processes
 * (so tests can SIGKILL them), and a client connection for the test.
 */

export interface TestClusterOptions {
  dir: string;
  workers?: number;
  natsNodes?: 1 | 3;
  ackWaitMs?: number;
  storage?: 'fs' | 'nats-object-store';
  maxDeliver?: number;
  /** Storage root of the cluster's processes. @defaultValue dir */
  storageRoot?: string;
  /** Extra environment for every process (TMPDIR, fault injection). */
  env?: Record<string, string>;
  /** TLS and per-role nkeys, as `sci cluster up` runs it. @defaultValue true */
  secure?: boolean;
  /** The coordinator and each worker serve /metrics on a free port (listed in `metricsTargets`). @defaultValue false */
  metrics?: boolean;
}

/** The NATS role a `sci` command connects as. */
function roleOfCommand(args: string[]): NatsRole {
  if (args[0] === 'coordinator') return 'coordinator';
  if (args[0] === 'worker') return 'worker';
  if (args[0] === 'serve') return args[1] === 'api' ? 'api' : 'shard-server';
  if (args[0] === 'pipeline') return 'pipeline';
  return 'cli';
}

export class TestCluster {
  readonly children = new Set<ChildProcess>();
  coordinator: ChildProcess | null = null;
  workers: ChildProcess[] = [];
  /** With `metrics`: each process's /metrics address (host:port) and role. */
  readonly metricsTargets: Array<{ role: string; address: string }> = [];
  private logCount = 0;

  private constructor(
    readonly options: Required<TestClusterOptions>,
    readonly nats: NatsServerProcess[],
    readonly nc: NatsConnection,
    readonly state: ClusterState,
    /** The cluster's CA and role seeds (null when started plain). */
    readonly security: SecurityBundle | null,
  ) {}

  static async start(options: TestClusterOptions): Promise<TestCluster> {
    const resolved = {
      workers: 2,
      natsNodes: 1 as const,
      ackWaitMs: 3000,
      storage: 'fs' as const,
      maxDeliver: 5,
      env: {},
      storageRoot: options.dir,
      secure: true,
      metrics: false,
      ...options,
    };
    const security = resolved.secure ? createSecurityBundle(join(resolved.dir, 'security'), { hosts: ['127.0.0.1', 'localhost'], users: NATS_ROLES }) : null;
    const serverSecurity = security ? clusterServerSecurity(security) : undefined;
    const nats =
      resolved.natsNodes === 3
        ? await startNatsCluster(3, join(resolved.dir, 'nats'), serverSecurity)
        : [await NatsServerProcess.start({ storeDir: join(resolved.dir, 'nats'), ...(serverSecurity ? { security: serverSecurity } : {}) })];
    // The harness is the operator: it connects as admin and sets up the streams.
    const nc = await connectNats({
      servers: nats.map((n) => n.url),
      name: 'sci-test',
      ...(security ? { security: TestCluster.credentials(security, 'admin') } : {}),
    });
    const state = await openClusterState(nc, { replicas: resolved.natsNodes, ackWaitMs: resolved.ackWaitMs, maxDeliver: resolved.maxDeliver, manage: true });
    const cluster = new TestCluster(resolved, nats, nc, state, security);
    cluster.startCoordinator(await cluster.metricsEnv('coordinator'));
    for (let i = 0; i < resolved.workers; i++) cluster.startWorker(await cluster.metricsEnv('worker'));
    return cluster;
  }

  /** Client security of `role` in this cluster's bundle. */
  static credentials(security: SecurityBundle, role: NatsRole): { nkeySeedFile: string; tls: { caFile: string }; inboxPrefix: string } {
    return { nkeySeedFile: security.seedFiles[role]!, tls: { caFile: security.caFile }, inboxPrefix: inboxPrefixOf(role) };
  }

  /** A connection of `role`, as that process would make it. */
  async connectAs(role: NatsRole, name = `sci-test-${role}`): Promise<NatsConnection> {
    return connectNats({
      servers: this.nats.map((n) => n.url),
      name,
      timeoutMs: 5000,
      ...(this.security ? { security: TestCluster.credentials(this.security, role) } : {}),
    });
  }

  /** Environment of a `sci` process that connects as `role`. */
  roleEnv(role: NatsRole): Record<string, string> {
    if (!this.security) return {};
    return { SCI_NATS__NKEY_SEED_FILE: this.security.seedFiles[role]!, SCI_NATS__TLS__CA_FILE: this.security.caFile };
  }

  get env(): Record<string, string> {
    return {
      SCI_NATS__SERVERS: JSON.stringify(this.nats.map((n) => n.url)),
      SCI_NATS__REPLICAS: String(this.options.natsNodes),
      SCI_NATS__ACK_WAIT_MS: String(this.options.ackWaitMs),
      SCI_NATS__MAX_DELIVER: String(this.options.maxDeliver),
      SCI_STORAGE__KIND: this.options.storage,
      // Every key of the test lies under its folder; the storage refuses anything outside.
      SCI_STORAGE__ROOT: this.options.storageRoot,
      // Each test cluster's own object cache (a host's cache; never the machine-wide default).
      SCI_STORAGE__CACHE__DIR: join(this.options.dir, 'object-cache'),
      SCI_LOG__PRETTY: 'false',
      SCI_LOG__LEVEL: 'info',
      ...this.options.env,
    };
  }

  spawnSci(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
    const child = spawnSci(args, {
      env: { ...this.env, ...this.roleEnv(roleOfCommand(args)), ...extraEnv },
      log: join(this.options.dir, `${args[0]}-${this.logCount++}.log`),
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** With `metrics`: a free /metrics port for a process of `role` (recorded in `metricsTargets`); else nothing. */
  async metricsEnv(role: string): Promise<Record<string, string>> {
    if (!this.options.metrics) return {};
    const port = await freePort();
    this.metricsTargets.push({ role, address: `127.0.0.1:${port}` });
    return { SCI_METRICS__PORT: String(port) };
  }

  startCoordinator(extraEnv: Record<string, string> = {}): ChildProcess {
    this.coordinator = this.spawnSci(['coordinator', 'run'], extraEnv);
    return this.coordinator;
  }

  startWorker(extraEnv: Record<string, string> = {}): ChildProcess {
    const worker = this.spawnSci(['worker', 'run', '--threads', '1', '--grace-ms', '60000'], extraEnv);
    this.workers.push(worker);
    return worker;
  }

  async kill(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  async submit(spec: JobSpecInput): Promise<JobRecord> {
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.nc.request(NAMES.submitSubject, new TextEncoder().encode(JSON.stringify(spec)), { timeout: 10_000 });
        const answer = reply.json<{ ok: boolean; job?: JobRecord; error?: string }>();
        if (!answer.ok) throw new Error(`job refused: ${answer.error}`);
        return answer.job!;
      } catch (err) {
        // The coordinator may still be starting (no responders yet).
        if (attempt > 40 || /job refused/.test((err as Error).message)) throw err;
        await sleep(250);
      }
    }
  }

  async job(id: string): Promise<JobRecord | null> {
    return (await getRecord(this.state.jobs, id, JobRecordSchema))?.value ?? null;
  }

  async tasks(id: string): Promise<TaskRecord[]> {
    return tasksOfJob(this.state.tasks, id);
  }

  async waitFor(id: string, predicate: (job: JobRecord, tasks: TaskRecord[]) => boolean, timeoutMs = 120_000): Promise<JobRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const job = await this.job(id);
        // A job whose task record a test corrupted on purpose is followed by its job record alone.
        const tasks = await this.tasks(id).catch((err: { code?: string }) => (err.code === 'CORRUPT_RECORD' ? [] : Promise.reject(err)));
        if (job && predicate(job, tasks)) return job;
      } catch {
        // NATS may be restarting in a fault test; try again.
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting on job ${id}; logs:\n${this.logs()}`);
      await sleep(200);
    }
  }

  waitDone(id: string, timeoutMs = 180_000): Promise<JobRecord> {
    return this.waitFor(id, (job) => job.state === 'done' || job.state === 'failed', timeoutMs);
  }

  /** Waits until `logs` process logs (one by default) have a line matching `pattern` (logs are written as things happen, not when a job ends). */
  async waitForLog(pattern: RegExp, timeoutMs = 60_000, logs = 1): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const matching = () =>
      readdirSync(this.options.dir).filter((f) => f.endsWith('.log') && pattern.test(readFileSync(join(this.options.dir, f), 'utf8'))).length;
    while (matching() < logs) {
      if (Date.now() > deadline) throw new Error(`${matching()} of ${logs} logs had a line matching ${pattern} within ${timeoutMs} ms; logs:\n${this.logs()}`);
      await sleep(200);
    }
  }

  /** Waits until `n` worker processes (a log each) have logged that they pull tasks. */
  waitForWorkers(n: number, timeoutMs = 60_000): Promise<void> {
    return this.waitForLog(/"msg":"worker running"/, timeoutMs, n);
  }

  /** Tail of every process log, for failure messages. */
  logs(): string {
    return readdirSync(this.options.dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => `--- ${f}\n${readFileSync(join(this.options.dir, f), 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');
  }

  /** Publish and subscription violations nats-server logged: a role whose permissions miss a subject its process needs. */
  permissionViolations(): string[] {
    return this.nats.flatMap((n) => n.log().split('\n')).filter((line) => /(Publish|Subscription) Violation/.test(line));
  }

  /** Stops everything; fails when a process was refused a subject, unless the test provoked that itself. */
  async stop(options: { allowViolations?: boolean } = {}): Promise<void> {
    await Promise.all([...this.children].map((c) => this.kill(c, 'SIGKILL')));
    await this.nc.close().catch(() => undefined);
    const violations = this.permissionViolations();
    await Promise.all(this.nats.map((n) => n.stop({ clean: true })));
    if (violations.length > 0 && !options.allowViolations)
      throw new Error(`nats-server refused subjects to cluster processes:\n${violations.slice(0, 20).join('\n')}`);
  }
}
