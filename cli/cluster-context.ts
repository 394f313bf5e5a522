import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import { exitFatal, ProcessFatalError, UsageError } from '../common/index.js';
import type { Config } from '../config/index.js';
import { connectNats, type ClientSecurity } from '../messaging/index.js';
import { instanceInboxPrefix, type NatsRole } from '../access/index.js';
import { openClusterState, openObjectStore, type ClusterState } from '../jobs/index.js';
import { FsStorage, NatsObjectStorage, type Storage } from '../storage/index.js';

/** What `sci cluster up` writes so later commands find the local cluster. */
export interface LocalClusterFile {
  natsUrl: string;
  natsPid: number;
  natsStoreDir: string;
  coordinatorPid: number;
  workerPids: number[];
  /** Shard servers and query API processes started by `sci cluster serve`. */
  servePids?: number[];
  logDir: string;
  startedAt: string;
  /** Security bundle (CA, server certificate, one nkey seed per role); absent = plain NATS. */
  securityDir?: string;
  /** Every process's /metrics endpoint, as Prometheus file-based discovery reads it (prometheus-targets.json). */
  metricsTargets?: MetricsTarget[];
}

/** One entry of a Prometheus file_sd target file. */
export interface MetricsTarget {
  targets: string[];
  labels: { role: string; pid: string };
}

export function clusterFilePath(config: Config): string {
  return resolve(config.cluster.dir, 'cluster.json');
}

export function readClusterFile(config: Config): LocalClusterFile | null {
  const path = clusterFilePath(config);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LocalClusterFile) : null;
}

/** Where and how a process of `role` connects: NATS from config, else the local cluster's URL and that role's credentials. */
export function natsConnection(config: Config, role: NatsRole): { servers: string[]; security: ClientSecurity } {
  const inboxPrefix = instanceInboxPrefix(role);
  const n = config.nats;
  if (n.servers.length > 0) {
    return {
      servers: n.servers,
      security: { user: n.user, password: n.password, nkeySeedFile: n.nkeySeedFile, credsFile: n.credsFile, tls: n.tls, inboxPrefix },
    };
  }
  const local = readClusterFile(config);
  if (!local) {
    throw new UsageError(
      `no NATS servers configured (nats.servers / SCI_NATS__SERVERS) and no local cluster at ${join(config.cluster.dir, 'cluster.json')}: run \`sci cluster up\` first`,
    );
  }
  if (!local.securityDir) return { servers: [local.natsUrl], security: { inboxPrefix } };
  return { servers: [local.natsUrl], security: { ...roleCredentials(local.securityDir, role), inboxPrefix } };
}

/** A role's files in a security bundle folder (see `sci cluster up`). */
export function roleCredentials(securityDir: string, role: NatsRole): { nkeySeedFile: string; tls: { caFile: string } } {
  return { nkeySeedFile: join(securityDir, `${role}.nk`), tls: { caFile: join(securityDir, 'ca.pem') } };
}

/** Environment that makes a child `sci` process connect as `role` (explicit servers, its seed, the CA). */
export function roleEnv(servers: string[], securityDir: string | undefined, role: NatsRole): Record<string, string> {
  const env: Record<string, string> = { SCI_NATS__SERVERS: JSON.stringify(servers) };
  if (securityDir) {
    const files = roleCredentials(securityDir, role);
    env.SCI_NATS__NKEY_SEED_FILE = files.nkeySeedFile;
    env.SCI_NATS__TLS__CA_FILE = files.tls.caFile;
  }
  return env;
}

export interface ClusterHandles {
  nc: NatsConnection;
  state: ClusterState;
  storage: Storage;
  close(): Promise<void>;
}

/** Connects as `role`; the coordinator also creates and reconciles the streams and buckets, everyone else binds to them. */
export async function openCluster(config: Config, name: string, role: NatsRole, onChange?: (what: string) => void, logger?: Logger): Promise<ClusterHandles> {
  const nc = await connectNats({ name, ...natsConnection(config, role) });
  const manage = role === 'coordinator' || role === 'admin';
  const state = await openClusterState(nc, {
    replicas: config.nats.replicas,
    ackWaitMs: config.nats.ackWaitMs,
    maxDeliver: config.nats.maxDeliver,
    manage,
    ...(onChange ? { onChange } : {}),
  });
  return { nc, state, storage: await openStorage(config, nc, logger), close: () => nc.drain() };
}

/**
 * A long-running process (coordinator, worker, shard server, API) cannot serve without NATS. The client
 * reconnects for ever, so the connection closes by itself only when the server refuses it for good
 * (credentials revoked, say): then the process ends with INFRASTRUCTURE_LOST, logged first, instead
 * of idling with nothing to do. Its own close (at shutdown) goes through the returned handles.
 */
export function exitOnConnectionLoss<H extends { nc: NatsConnection; close(): Promise<void> }>(handles: H): H {
  let closing = false;
  void handles.nc.closed().then((err) => {
    if (closing) return;
    exitFatal(new ProcessFatalError('INFRASTRUCTURE_LOST', `the NATS connection closed${err ? `: ${err.message}` : ''}; this process cannot go on without it`));
  });
  return {
    ...handles,
    close: () => {
      closing = true;
      return handles.close();
    },
  };
}

/**
 * A path given on the command line as a key of the configured storage: absolute on a filesystem
 * (the processes that read it run elsewhere, in other folders), as given in the object store, whose
 * keys are names, not paths.
 */
export function storageKeyOf(config: Config, path: string): string {
  return config.storage.kind === 'fs' ? resolve(path) : path;
}

/** The storage config names: a filesystem root, or the object store with this host's capped cache. */
export async function openStorage(config: Config, nc: NatsConnection, logger?: Logger): Promise<Storage> {
  if (config.storage.kind === 'fs') return new FsStorage(config.storage.root);
  const { dir, maxBytes } = config.storage.cache;
  return new NatsObjectStorage(await openObjectStore(nc.jetstream(), config.nats.replicas), {
    ...(dir !== null ? { dir } : {}),
    maxBytes,
    onEvict: (eviction) => logger?.info(eviction, 'object cache over its cap: least recently used copies removed'),
  });
}

export interface ServingHandles extends Omit<ClusterHandles, 'state'> {
  /** Job records, where the serving process shows them (the API); null when not asked for or not there yet. */
  state: ClusterState | null;
}

/**
 * For processes that search and need no job queue (shard servers, `sci
 * search`, `sci eval`): no job state. The API binds to it if a coordinator
 * has made it, and else serves search without its job endpoints (logged by
 * the caller).
 */
export async function openServing(
  config: Config,
  name: string,
  role: 'shard-server' | 'api' | 'cli',
  onMissingState?: (err: unknown) => void,
  logger?: Logger,
): Promise<ServingHandles> {
  const nc = await connectNats({ name, ...natsConnection(config, role) });
  let state: ClusterState | null = null;
  if (role === 'api') {
    const options = { replicas: config.nats.replicas, ackWaitMs: config.nats.ackWaitMs, maxDeliver: config.nats.maxDeliver, waitMs: 3000 };
    state = await openClusterState(nc, options).catch((err: unknown) => {
      onMissingState?.(err);
      return null;
    });
  }
  return { nc, state, storage: await openStorage(config, nc, logger), close: () => nc.drain() };
}

/** Opens the cluster for one command and always closes it. */
export async function withCluster<T>(config: Config, name: string, role: NatsRole, body: (cluster: ClusterHandles) => Promise<T>): Promise<T> {
  const cluster = await openCluster(config, name, role);
  try {
    return await body(cluster);
  } finally {
    await cluster.close();
  }
}
