import { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, UsageError } from '../common/index.js';
import {
  NatsServerProcess,
  connectNats,
  createSecurityBundle,
  freePort,
  renderRoutesConf,
  renderServerSecurity,
  routeCredentials,
  type SecurityBundle,
} from '../messaging/index.js';
import { clusterServerSecurity, inboxPrefixOf, NATS_ROLES } from '../access/index.js';
import { listKeys, listWorkers, NAMES, openClusterState, type ClusterState } from '../jobs/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { clusterFilePath, readClusterFile, roleCredentials, roleEnv, withCluster, type LocalClusterFile, type MetricsTarget } from './cluster-context.js';
import type { Config } from '../config/index.js';
import { layoutOption, positiveInt } from './parse.js';
import { shardServerArgs, spawnSci } from './sci-process.js';

/** Whether the pid still names a process, a zombie included (stopping waits until it is reaped, not only until it exits). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function stopPid(pid: number, timeoutMs = 30_000): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pidExists(pid) && Date.now() < deadline) await sleep(50);
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

function metricsTarget(host: string, port: number, role: string, pid: number): MetricsTarget {
  return { targets: [`${host.includes(':') ? `[${host}]` : host}:${port}`], labels: { role, pid: String(pid) } };
}

/** `<cluster.dir>/prometheus-targets.json`: what deploy/prometheus/prometheus.yml scrapes (file-based discovery, reread on change). */
function writeMetricsTargets(config: Config, targets: MetricsTarget[]): void {
  const file = resolve(config.cluster.dir, 'prometheus-targets.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(targets, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Starts `sci <args>` detached with its output appended to a log file; returns the pid. */
function startDetached(args: string[], log: string, env: Record<string, string>): number {
  return spawnSci(args, { log, env, detached: true }).pid!;
}

/** Bytes a log file holds now: a process started after this writes past it. */
function logEnd(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

/**
 * Waits for a line matching `pattern` in a log file a background process writes, after byte `from` (log
 * files are appended to: an earlier process's lines are not this one's); fails if the process dies first.
 */
async function waitForLine(file: string, pattern: RegExp, timeoutMs: number, pid: number, from = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = existsSync(file) ? readFileSync(file).subarray(from).toString('utf8') : '';
    const line = text.split('\n').find((l) => pattern.test(l));
    if (line) return line;
    if (!processAlive(pid)) throw new UsageError(`process ${pid} exited before it was ready; see ${file}:\n${text.slice(-2000)}`);
    await sleep(200);
  }
  throw new UsageError(`process ${pid} not ready after ${timeoutMs} ms; see ${file}`);
}

/** Until the coordinator answers health checks and `workers` workers have announced themselves. */
async function waitReady(state: ClusterState, workers: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let coordinator = false;
  let announced = 0;
  while (Date.now() < deadline) {
    if (!coordinator)
      coordinator = await state.nc.request(NAMES.healthSubject, new Uint8Array(), { timeout: 1000 }).then(
        () => true,
        () => false,
      );
    announced = (await listKeys(state.workers).catch(() => [])).length;
    if (coordinator && announced >= workers) return;
    await sleep(200);
  }
  throw new UsageError(
    `cluster not ready after ${timeoutMs} ms (coordinator ${coordinator ? 'up' : 'not answering'}, ${announced}/${workers} workers); see the logs`,
  );
}

export function clusterCommand(globals: () => GlobalOptions): Command {
  const cluster = new Command('cluster').description('A private local cluster: nats-server (JetStream), a coordinator and workers');
  cluster
    .command('up')
    .description('Start nats-server on a free loopback port, a coordinator and N workers, in the background')
    .option('--workers <n>', 'worker processes (default cluster.workers)', positiveInt('--workers'))
    .option('--threads <n>', 'pool threads per worker (default workers.pool.threads)', positiveInt('--threads'))
    .option('--json', 'print the cluster record as JSON')
    .action(async (flags: { workers?: number; threads?: number; json?: boolean }) => {
      const { config, logger } = commandContext(globals());
      const existing = readClusterFile(config);
      if (existing && processAlive(existing.natsPid))
        throw new UsageError(`a local cluster is already up (${existing.natsUrl}); run \`sci cluster down\` first`);
      const dir = resolve(config.cluster.dir);
      const logDir = join(dir, 'logs');
      mkdirSync(logDir, { recursive: true });
      // TLS and per-role nkeys unless turned off: NATS is the cluster's control plane.
      const bundle: SecurityBundle | null = config.cluster.secure
        ? createSecurityBundle(join(dir, 'security'), { hosts: config.cluster.hosts, users: NATS_ROLES })
        : null;
      const nats = await NatsServerProcess.start({
        storeDir: join(dir, 'nats'),
        detached: true,
        name: 'sci-local',
        ...(bundle ? { security: clusterServerSecurity(bundle) } : {}),
      });
      // Streams and buckets exist before any process uses them.
      const admin = bundle ? { ...roleCredentials(bundle.dir, 'admin'), inboxPrefix: inboxPrefixOf('admin') } : undefined;
      const nc = await connectNats({ servers: [nats.url], name: 'sci-cluster-up', ...(admin ? { security: admin } : {}) });
      const state = await openClusterState(nc, {
        replicas: config.nats.replicas,
        ackWaitMs: config.nats.ackWaitMs,
        maxDeliver: config.nats.maxDeliver,
        manage: true,
      });
      const base = { SCI_LOG__PRETTY: 'false' };
      // Each process serves /metrics on a port of its own, listed for Prometheus in prometheus-targets.json.
      const metricsTargets: MetricsTarget[] = [];
      const env = async (role: 'coordinator' | 'worker') => {
        const port = await freePort();
        return { port, env: { ...base, ...roleEnv([nats.url], bundle?.dir, role), SCI_METRICS__PORT: String(port) } };
      };
      const coordinatorEnv = await env('coordinator');
      const coordinatorPid = startDetached(['coordinator', 'run'], join(logDir, 'coordinator.log'), coordinatorEnv.env);
      metricsTargets.push(metricsTarget(config.metrics.host, coordinatorEnv.port, 'coordinator', coordinatorPid));
      const workers = flags.workers ?? config.cluster.workers;
      const workerPids: number[] = [];
      for (let i = 0; i < workers; i++) {
        const workerEnv = await env('worker');
        const pid = startDetached(
          ['worker', 'run', '--threads', String(flags.threads ?? config.workers.pool.threads)],
          join(logDir, `worker-${i}.log`),
          workerEnv.env,
        );
        workerPids.push(pid);
        metricsTargets.push(metricsTarget(config.metrics.host, workerEnv.port, 'worker', pid));
      }
      await waitReady(state, workers, 60_000);
      await nc.drain();
      const record: LocalClusterFile = {
        natsUrl: nats.url,
        natsPid: nats.pid!,
        natsStoreDir: nats.storeDir,
        coordinatorPid,
        workerPids,
        logDir,
        startedAt: new Date().toISOString(),
        ...(bundle ? { securityDir: bundle.dir } : {}),
        metricsTargets,
      };
      writeFileSync(clusterFilePath(config), `${JSON.stringify(record, null, 2)}\n`);
      writeMetricsTargets(config, metricsTargets);
      logger.info(record, 'local cluster up');
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(record, null, 2)}\n`
          : `cluster up: NATS ${record.natsUrl}${bundle ? ` (TLS, per-role nkeys in ${bundle.dir})` : ' (plain, no auth)'}, coordinator ${coordinatorPid}, ${workers} worker(s) ${workerPids.join(' ')}; logs in ${logDir}\n`,
      );
    });
  cluster
    .command('secrets')
    .description(
      "Make NATS security for a deployment: a CA, a server certificate for --host names, one nkey seed per role, and auth.conf (the server's tls + authorization blocks) for Kubernetes Secrets",
    )
    .requiredOption('--out <dir>', 'folder to write (kept files are reused: run again to add a host or role)')
    .option('--host <name>', 'a DNS name or IP the server certificate is valid for (repeat)', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--mount <dir>', 'where the NATS pods mount the server secret (paths inside auth.conf)', '/etc/nats/auth')
    .option(
      '--route <host:port>',
      "a NATS node's route address, written with the route password into routes.conf (repeat; default the StatefulSet's three)",
      (value: string, all: string[]) => [...all, value],
      [] as string[],
    )
    .action((flags: { out: string; host: string[]; mount: string; route: string[] }) => {
      if (flags.host.length === 0)
        throw new UsageError('give at least one --host (the names clients use to reach NATS, e.g. nats, nats-0.nats)', { field: '--host' });
      const bundle = createSecurityBundle(resolve(flags.out), { hosts: flags.host, users: NATS_ROLES });
      const mounted = {
        ...bundle,
        caFile: join(flags.mount, 'ca.pem'),
        certFile: join(flags.mount, 'server-cert.pem'),
        keyFile: join(flags.mount, 'server-key.pem'),
      };
      const security = clusterServerSecurity(mounted);
      writeFileSync(join(bundle.dir, 'auth.conf'), `${renderServerSecurity(security)}\n`, { mode: 0o600 });
      const routes = flags.route.length > 0 ? flags.route : ['nats-0.nats:6222', 'nats-1.nats:6222', 'nats-2.nats:6222'];
      writeFileSync(join(bundle.dir, 'routes.conf'), `${renderRoutesConf(security.tls, routeCredentials(bundle), routes)}\n`, { mode: 0o600 });
      process.stdout.write(
        `NATS security in ${bundle.dir}: ca.pem, server-cert.pem, server-key.pem, auth.conf, routes.conf, and seeds ${NATS_ROLES.map((r) => `${r}.nk`).join(', ')}\n`,
      );
    });
  cluster
    .command('serve')
    .description('Start shard servers for an index set (its shards split over N processes), and optionally the query API')
    .requiredOption('--index-set <dir>', 'index set (output of an index job)')
    .option('--processes <n>', 'shard server processes', positiveInt('--processes'), 2)
    .option('--api', 'also start the query API (REST + gRPC, api.* config)')
    .addOption(layoutOption('what to serve'))
    .option('--json', 'print what was started as JSON')
    .action(async (flags: { indexSet: string; processes: number; api?: boolean; layout: 'shards' | 'routed' | 'groups'; json?: boolean }) => {
      const { config } = commandContext(globals());
      const record = readClusterFile(config);
      if (!record || !processAlive(record.natsPid)) throw new UsageError('no local cluster is up: run `sci cluster up` first');
      const indexSet = resolve(flags.indexSet);
      const manifestPath = join(indexSet, 'manifest.json');
      if (!existsSync(manifestPath)) throw new UsageError(`no index set at ${indexSet} (no manifest.json)`, { file: manifestPath });
      type Parts = { parts: Array<{ id: number }> };
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { shards: Array<{ id: number }>; routed?: Parts; groups?: Parts };
      const parts = flags.layout === 'shards' ? manifest.shards : manifest[flags.layout]?.parts;
      if (!parts)
        throw new UsageError(
          `${indexSet} has no ${flags.layout === 'routed' ? 'routed partitions' : 'graph groups'}: build it with sci job submit --${flags.layout === 'routed' ? 'routed' : 'graph-groups'} N`,
          {
            file: manifestPath,
          },
        );
      const shards = parts.map((s) => s.id);
      const layout = ['--layout', flags.layout];
      const env = (role: 'shard-server' | 'api') => ({ SCI_LOG__PRETTY: 'false', ...roleEnv([record.natsUrl], record.securityDir, role) });
      const groups = Array.from({ length: Math.min(flags.processes, shards.length) }, (_, p) => shards.filter((_, i) => i % flags.processes === p));
      const started: Array<{ pid: number; log: string; from: number; shards: number[] | null }> = [];
      // Processes of earlier serves that are gone leave the scrape list (and the cluster file).
      const metricsTargets = (record.metricsTargets ?? []).filter((target) => processAlive(Number(target.labels.pid)));
      for (const [p, group] of groups.entries()) {
        const log = join(record.logDir, `shards-${p}.log`);
        const from = logEnd(log);
        const port = await freePort();
        const pid = startDetached(shardServerArgs(indexSet, { shards: group, layout: flags.layout }), log, {
          ...env('shard-server'),
          SCI_METRICS__PORT: String(port),
        });
        started.push({ pid, log, from, shards: group });
        metricsTargets.push(metricsTarget(config.metrics.host, port, 'shard-server', pid));
      }
      let api: { rest: string; grpc: string } | null = null;
      if (flags.api) {
        const log = join(record.logDir, 'api.log');
        const from = logEnd(log);
        started.push({ pid: startDetached(['serve', 'api', '--index-set', indexSet, ...layout], log, env('api')), log, from, shards: null });
      }
      for (const s of started) {
        // Loading a shard verifies and reads every index file: minutes on a loaded machine.
        const line = await waitForLine(s.log, s.shards ? /^serving (shards|routed|groups)/ : /^\{"rest"/, 180_000, s.pid, s.from);
        if (!s.shards) {
          api = JSON.parse(line) as { rest: string; grpc: string };
          // The API serves its series on its REST port (behind api.token when one is set).
          const rest = new URL(api.rest);
          metricsTargets.push({ targets: [rest.host], labels: { role: 'api', pid: String(s.pid) } });
        }
      }
      writeFileSync(
        clusterFilePath(config),
        `${JSON.stringify({ ...record, servePids: [...(record.servePids ?? []).filter(processAlive), ...started.map((s) => s.pid)], metricsTargets }, null, 2)}\n`,
      );
      writeMetricsTargets(config, metricsTargets);
      const summary = { indexSet, shardServers: started.filter((s) => s.shards).map((s) => ({ pid: s.pid, shards: s.shards })), api };
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(summary, null, 2)}\n`
          : `serving ${indexSet}: ${summary.shardServers.map((s) => `pid ${s.pid} shards ${s.shards!.join(',')}`).join('; ')}${api ? `; API ${api.rest} (gRPC ${api.grpc})` : ''}\n`,
      );
    });
  cluster
    .command('status')
    .description('The coordinator (answers or not) and every live worker with its host, threads, memory and tasks done')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { config } = commandContext(globals());
      await withCluster(config, 'sci-cluster-status', 'cli', async (handles) => {
        const coordinator = await handles.nc.request(NAMES.healthSubject, new Uint8Array(), { timeout: 2000 }).then(
          (m) => m.json<Record<string, unknown>>(),
          () => null,
        );
        const workers = await listWorkers(handles.state.workers);
        if (flags.json) process.stdout.write(`${JSON.stringify({ coordinator, workers }, null, 2)}\n`);
        else {
          process.stdout.write(`coordinator: ${coordinator ? `up (pid ${coordinator.pid})` : 'not answering'}\n`);
          for (const w of workers)
            process.stdout.write(
              `worker ${w.id}: ${w.status}, ${w.threads} thread(s), backend ${w.backend}, ${Math.round(Number(w.memoryBytes) / 2 ** 30)} GiB, ${w.tasksDone} tasks, ${w.rowsDone} rows, storage ${w.storage}\n`,
            );
        }
      });
    });
  cluster
    .command('down')
    .description('Stop the local cluster: workers drain, then the coordinator, then nats-server')
    .option('--clean', 'also remove the NATS store (jobs, tasks)')
    .action(async (flags: { clean?: boolean }) => {
      const { config } = commandContext(globals());
      const record = readClusterFile(config);
      if (!record) {
        process.stdout.write('no local cluster\n');
        return;
      }
      await Promise.all((record.servePids ?? []).map((pid) => stopPid(pid)));
      await Promise.all(record.workerPids.map((pid) => stopPid(pid)));
      await stopPid(record.coordinatorPid);
      await stopPid(record.natsPid);
      rmSync(clusterFilePath(config), { force: true });
      if (flags.clean) rmSync(record.natsStoreDir, { recursive: true, force: true });
      process.stdout.write('cluster down\n');
    });
  return cluster;
}
