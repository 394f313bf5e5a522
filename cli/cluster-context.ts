import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NatsConnection } from 'nats';
import { UsageError } from '../common/errors.js';
import type { Config } from '../config/index.js';
import { connectNats } from '../messaging/index.js';
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
}

export function clusterFilePath(config: Config): string {
  return resolve(config.cluster.dir, 'cluster.json');
}

export function readClusterFile(config: Config): LocalClusterFile | null {
  const path = clusterFilePath(config);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LocalClusterFile) : null;
}

/** NATS URLs from config, else from the local cluster's file. */
export function natsServers(config: Config): string[] {
  if (config.nats.servers.length > 0) return config.nats.servers;
  const local = readClusterFile(config);
  if (local) return [local.natsUrl];
  throw new UsageError(`no NATS servers configured (nats.servers / SCI_NATS__SERVERS) and no local cluster at ${join(config.cluster.dir, 'cluster.json')}: run \`sci cluster up\` first`);
}

export interface ClusterHandles {
  nc: NatsConnection;
  state: ClusterState;
  storage: Storage;
  close(): Promise<void>;
}

export async function openCluster(config: Config, name: string): Promise<ClusterHandles> {
  const nc = await connectNats({ servers: natsServers(config), name });
  const state = await openClusterState(nc, { replicas: config.nats.replicas, ackWaitMs: config.nats.ackWaitMs, maxDeliver: config.nats.maxDeliver });
  const storage: Storage = config.storage.kind === 'fs' ? new FsStorage(config.storage.root) : new NatsObjectStorage(await openObjectStore(state.js, config.nats.replicas));
  return { nc, state, storage, close: () => nc.drain() };
}

/** Opens the cluster for one command and always closes it. */
export async function withCluster<T>(config: Config, name: string, body: (cluster: ClusterHandles) => Promise<T>): Promise<T> {
  const cluster = await openCluster(config, name);
  try {
    return await body(cluster);
  } finally {
    await cluster.close();
  }
}
