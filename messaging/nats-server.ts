import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NATS_MAX_PAYLOAD_BYTES } from '../common/index.js';
import { MessagingError } from './errors.js';
import { renderRoutes, renderRouteSecurity, renderServerSecurity, type ServerSecurity } from './security.js';

/*
 * Runs private nats-server processes (Debian's `nats-server`): JetStream with
 * a file store, loopback only. Used by `sci cluster up` and by the tests,
 * which also need `restart()` (same port and store) and `kill()` for fault
 * injection, and a 3-node cluster with routes on loopback.
 */

export interface NatsServerOptions {
  /** JetStream store; a fresh temp dir when absent (removed by `stop({ clean: true })`). */
  storeDir?: string;
  /** Client port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Server name (unique in a cluster). */
  name?: string;
  /**
   * Cluster membership: the route port this server listens on (on `host`), and its peers, as route
   * ports on loopback (`routePorts`) or `host:port` addresses (`routes`). With `security.routes`,
   * routes need mutual TLS and the route password. `noAdvertise` keeps this server from telling peers
   * its route address, so they dial only their configured routes (a proxy between hosts stays in the path).
   */
  cluster?: { name: string; port: number; routePorts?: number[]; routes?: string[]; noAdvertise?: boolean };
  /** Address the client and route ports bind (a host's own address across hosts). @defaultValue '127.0.0.1' */
  host?: string;
  /** A command the server runs under (`['ip', 'netns', 'exec', NS]`: a host of the multi-host tests); it must exec nats-server in place. */
  wrap?: string[];
  /** Executable. @defaultValue 'nats-server' */
  binary?: string;
  /** Let the server outlive this process (`sci cluster up`). @defaultValue false */
  detached?: boolean;
  /** TLS on the client port and nkey users with permissions; absent = plain and open (tests of other things). */
  security?: ServerSecurity;
  /** A config file to include (a deployment's auth.conf from `sci cluster secrets`). */
  include?: string;
  /** Largest message, bytes (tests shrink it). @defaultValue NATS_MAX_PAYLOAD_BYTES (8 MiB) */
  maxPayloadBytes?: number;
}

/** How often a server pings its clients and routes, and how many unanswered pings close the connection. */
export const SERVER_PING_INTERVAL_S = 5;
export const SERVER_PINGS_OUT = 3;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class NatsServerProcess {
  readonly port: number;
  readonly storeDir: string;
  readonly name: string;
  private readonly options: NatsServerOptions;
  private readonly ownsStore: boolean;
  private child: ChildProcess | null = null;
  private readonly configPath: string;
  private readonly logPath: string;

  private constructor(options: NatsServerOptions, port: number, storeDir: string, ownsStore: boolean) {
    this.options = options;
    this.port = port;
    this.storeDir = storeDir;
    this.ownsStore = ownsStore;
    this.name = options.name ?? `sci-${port}`;
    this.configPath = join(storeDir, `${this.name}.conf`);
    this.logPath = join(storeDir, `${this.name}.log`);
  }

  /** `tls://` when the server requires TLS, so a client without TLS settings fails at once and clearly. */
  get url(): string {
    return `${this.options.security ? 'tls' : 'nats'}://${this.host}:${this.port}`;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
    const ownsStore = options.storeDir === undefined;
    const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'sci-nats-'));
    mkdirSync(storeDir, { recursive: true });
    const port = options.port && options.port > 0 ? options.port : await freePort();
    const server = new NatsServerProcess(options, port, storeDir, ownsStore);
    await server.launch();
    return server;
  }

  /** (Re)starts the process on the same port and store. */
  async launch(): Promise<void> {
    if (this.running) return;
    const lines = [
      `server_name: ${JSON.stringify(this.name)}`,
      `listen: "${this.host}:${this.port}"`,
      `jetstream { store_dir: ${JSON.stringify(join(this.storeDir, 'js'))}, max_mem: 256MB, max_file: 8GB }`,
      `max_payload: ${this.options.maxPayloadBytes ?? NATS_MAX_PAYLOAD_BYTES}`,
      // Routes and clients to a host that dropped off the network send no RST: with the default (every
      // 2 min, 2 missed) the other nodes keep routing requests (direct gets, queue subscribers) into the
      // void for 4+ minutes. Every 5 s with 3 missed finds a dead peer in ~20 s.
      `ping_interval: "${SERVER_PING_INTERVAL_S}s"`,
      `ping_max: ${SERVER_PINGS_OUT}`,
    ];
    const c = this.options.cluster;
    if (c) {
      const credentials = this.options.security?.routes;
      const peers = [...(c.routePorts ?? []).map((p) => `127.0.0.1:${p}`), ...(c.routes ?? [])];
      const block = [`name: ${JSON.stringify(c.name)}`, `listen: "${this.host}:${c.port}"`, renderRoutes(peers, credentials)];
      if (credentials && this.options.security) block.push(renderRouteSecurity(this.options.security.tls, credentials));
      if (c.noAdvertise) block.push('no_advertise: true');
      lines.push(
        'cluster {',
        ...block
          .join('\n')
          .split('\n')
          .map((line) => `  ${line}`),
        '}',
      );
    }
    if (this.options.security) lines.push(renderServerSecurity(this.options.security));
    // nats-server resolves includes against the including file's folder only.
    if (this.options.include) lines.push(`include ${JSON.stringify(relative(this.storeDir, this.options.include))}`);
    writeFileSync(this.configPath, `${lines.join('\n')}\n`, { mode: 0o600 });
    rmSync(this.logPath, { force: true });
    const command = [...(this.options.wrap ?? []), this.options.binary ?? 'nats-server', '-c', this.configPath, '-l', this.logPath];
    const child = spawn(command[0]!, command.slice(1), {
      stdio: 'ignore',
      detached: this.options.detached ?? false,
    });
    if (this.options.detached) child.unref();
    this.child = child;
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (err) =>
        reject(new MessagingError(`cannot run nats-server: ${err.message} (install the Debian package nats-server)`, { cause: err })),
      );
      child.once('exit', (code) => reject(new MessagingError(`nats-server exited with code ${code}; see ${this.logPath}`, { file: this.logPath })));
    });
    exited.catch(() => undefined);
    await Promise.race([exited, this.waitReady(10_000)]);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (existsSync(this.logPath) && readFileSync(this.logPath, 'utf8').includes('Server is ready')) return;
      await sleep(20);
    }
    throw new MessagingError(`nats-server on port ${this.port} not ready after ${timeoutMs} ms; see ${this.logPath}`, { file: this.logPath });
  }

  /** Hard kill (fault injection); the store survives. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await done;
    this.child = null;
  }

  async restart(): Promise<void> {
    await this.kill('SIGTERM');
    await this.launch();
  }

  /** Graceful stop; `clean` also removes a store this object created. */
  async stop(options: { clean?: boolean } = {}): Promise<void> {
    await this.kill('SIGTERM');
    if (options.clean ?? this.ownsStore) rmSync(this.storeDir, { recursive: true, force: true });
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }
}

/** A JetStream cluster of `size` nodes on loopback (for replicated streams). */
export async function startNatsCluster(size: number, baseDir?: string, security?: ServerSecurity): Promise<NatsServerProcess[]> {
  const dir = baseDir ?? mkdtempSync(join(tmpdir(), 'sci-nats-cluster-'));
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  return Promise.all(
    clientPorts.map((port, i) =>
      NatsServerProcess.start({
        port,
        name: `n${i}`,
        storeDir: join(dir, `n${i}`),
        cluster: { name: 'sci', port: routePorts[i]!, routePorts },
        ...(security ? { security } : {}),
      }),
    ),
  );
}
