import { execFile, execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { clusterServerSecurity, type NatsRole } from '../../access/index.js';
import { processAlive } from '../../common/index.js';
import type { SecurityBundle, ServerSecurity } from '../../messaging/index.js';
import { REPO_ROOT } from './paths.js';

/*
 * Several "hosts" on one machine for tests of the cluster across hosts: each host is a Linux
 * network namespace with its own address on a private switch (scripts/netns-hosts.sh makes
 * them; this drives it, so both share one address scheme), and a temp folder as its own disk.
 * Needs root. Namespaces outlive the process that made them, so every exit path tears down,
 * and a set left by a process that died without doing so is removed by the next `create`.
 */

const execFileAsync = promisify(execFile);

/** The standalone script that makes, links and deletes the namespaces. */
export const HOSTS_SCRIPT = join(REPO_ROOT, 'scripts', 'netns-hosts.sh');

/** Names made here start with this and the maker's pid, which is how a later run tells a dead maker's leftovers. */
const PREFIX = 'scih';

export interface Host {
  /** 1-based, as the script numbers hosts. */
  index: number;
  /** The network namespace (`ip netns exec <ns> …`). */
  ns: string;
  /** The host's IPv4 address on the switch, 10.213.K.(index + 10). */
  address: string;
  /** A fresh temp folder: this host's private disk, removed on close. */
  dir: string;
}

export interface SpawnInHostOptions {
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** @defaultValue the host's dir */
  cwd?: string;
  /** @defaultValue ['ignore', 'pipe', 'pipe'] */
  stdio?: StdioOptions;
  /** Append stdout and stderr to this file instead (stdin ignored); overrides stdio. */
  log?: string;
}

export interface ExecResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let unavailable: string | null | undefined;

/**
 * Why namespace hosts cannot run here (a skip reason for node:test), or null when they can.
 * Probes once by making a throwaway namespace with a bridge and a veth pair in it.
 */
export function hostsUnavailable(): string | null {
  if (unavailable !== undefined) return unavailable;
  unavailable = probe();
  return unavailable;
}

function probe(): string | null {
  if (process.platform !== 'linux') return `network namespace hosts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespace hosts need root (creating a network namespace needs CAP_SYS_ADMIN)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch (err) {
    return `network namespace hosts need the ip command (iproute2): ${(err as Error).message}`;
  }
  const ns = `${PREFIX}-${process.pid}-probe-sw`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    return `ip netns add fails here: ${stderrOf(err)}`;
  }
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge'], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return null;
  } catch (err) {
    return `a bridge or veth pair cannot be made in a network namespace here: ${stderrOf(err)}`;
  } finally {
    deleteNamespaceSync(ns);
  }
}

function stderrOf(err: unknown): string {
  const stderr = (err as { stderr?: Buffer | string }).stderr;
  return (stderr ? String(stderr).trim() : '') || (err as Error).message;
}

function listNamespaces(): string[] {
  try {
    const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split('\n')
      .map((line) => line.split(' ')[0] ?? '')
      .filter((ns) => ns !== '');
  } catch {
    return [];
  }
}

function deleteNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  } catch {
    // no such namespace: nothing inside to kill
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  } catch {
    // already deleted
  }
}

/** True for a name made here by a process (`scih-<pid>-<set>-…`, see STALE_NAMESPACE) that is no longer running. */
function leftByDeadProcess(name: string, pattern: RegExp): boolean {
  const match = pattern.exec(name);
  if (!match) return false;
  const pid = Number(match[1]);
  return pid !== process.pid && !processAlive(pid);
}

/*
 * A set made here is `scih-<pid>-<counter>` (namespaces `…-sw`, `…-h<i>`; host dirs `…-h<i>-XXXXXX`).
 * The script's default name, `scih-<bash pid>` with no set part, is left alone: the pid of a bash
 * that ran `up` is gone at once, though someone may still be using the set it made.
 */
const STALE_NAMESPACE = new RegExp(`^${PREFIX}-(\\d+)-.+-(sw|h\\d+)$`);
const STALE_DIR = new RegExp(`^${PREFIX}-(\\d+)-.+-h\\d+-[A-Za-z0-9]{6}$`);

/**
 * Deletes namespaces `scih-<pid>-<set>-*`, and their host dirs, whose maker is no longer running
 * (a test killed before it could tear down). Returns the namespaces deleted.
 */
export function removeStaleNamespaces(): string[] {
  const removed = listNamespaces().filter((ns) => leftByDeadProcess(ns, STALE_NAMESPACE));
  for (const ns of removed) deleteNamespaceSync(ns);
  let entries: string[] = [];
  try {
    entries = readdirSync(tmpdir());
  } catch {
    // no temp folder to clean
  }
  for (const entry of entries) {
    if (leftByDeadProcess(entry, STALE_DIR)) rmSync(join(tmpdir(), entry), { recursive: true, force: true });
  }
  return removed;
}

let counter = 0;

export class NamespaceHosts {
  readonly hosts: Host[] = [];
  private readonly children = new Set<ChildProcess>();
  private closing: Promise<void> | null = null;
  private handlersOn = false;

  private constructor(readonly name: string) {}

  /** `count` hosts on one switch; `name` prefixes every namespace. @defaultValue name `scih-<pid>-<counter>` */
  static async create(count: number, options: { name?: string } = {}): Promise<NamespaceHosts> {
    const reason = hostsUnavailable();
    if (reason !== null) throw new Error(reason);
    removeStaleNamespaces();
    const name = options.name ?? `${PREFIX}-${process.pid}-${++counter}`;
    // Checked here so that the teardown below never deletes a set someone else made under this name.
    if (listNamespaces().includes(`${name}-sw`)) throw new Error(`a namespace host set named ${name} already exists`);
    const set = new NamespaceHosts(name);
    set.addHandlers();
    try {
      const { stdout } = await execFileAsync('bash', [HOSTS_SCRIPT, 'up', String(count), '--name', name]);
      for (const line of stdout.trim().split('\n')) {
        const [ns, address] = line.split(' ');
        const index = Number(ns?.slice(`${name}-h`.length));
        if (!ns || !address || !Number.isInteger(index)) throw new Error(`unexpected line from netns-hosts.sh up: ${line}`);
        set.hosts.push({ index, ns, address, dir: mkdtempSync(join(tmpdir(), `${ns}-`)) });
      }
      if (set.hosts.length !== count) throw new Error(`netns-hosts.sh up made ${set.hosts.length} hosts, not ${count}`);
    } catch (err) {
      await set.close();
      throw err;
    }
    return set;
  }

  /** Starts `command args…` inside the host's namespace (as `ip netns exec`, which execs it: the pid is the command's). */
  spawn(host: Host, command: string, args: string[] = [], options: SpawnInHostOptions = {}): ChildProcess {
    if (this.closing) throw new Error(`namespace hosts ${this.name} are closed`);
    let stdio: StdioOptions = options.stdio ?? ['ignore', 'pipe', 'pipe'];
    let logFd: number | undefined;
    if (options.log !== undefined) {
      logFd = openSync(options.log, 'a');
      stdio = ['ignore', logFd, logFd];
    }
    try {
      const child = spawn('ip', ['netns', 'exec', host.ns, command, ...args], {
        cwd: options.cwd ?? host.dir,
        env: { ...process.env, ...options.env },
        stdio,
      });
      this.children.add(child);
      const forget = () => this.children.delete(child);
      child.once('exit', forget);
      child.once('error', forget);
      return child;
    } finally {
      // The child holds its own copy of the descriptor.
      if (logFd !== undefined) closeSync(logFd);
    }
  }

  /** Runs `command args…` in the host's namespace to the end; a non-zero exit is a result, not an error. */
  async execIn(host: Host, command: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExecResult> {
    const child = this.spawn(host, command, args, { env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Cuts the host off the switch (its switch-side veth goes down); its own eth0 loses carrier. */
  async linkDown(host: Host): Promise<void> {
    await execFileAsync('bash', [HOSTS_SCRIPT, 'link', String(host.index), 'down', '--name', this.name]);
  }

  async linkUp(host: Host): Promise<void> {
    await execFileAsync('bash', [HOSTS_SCRIPT, 'link', String(host.index), 'up', '--name', this.name]);
  }

  /** Kills every process started here and any other left in the namespaces, deletes the namespaces and the host dirs. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.teardown();
    return this.closing;
  }

  private async teardown(): Promise<void> {
    const exited = [...this.children].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of this.children) child.kill('SIGKILL');
    await Promise.race([Promise.all(exited), sleep(2000, undefined, { ref: false })]);
    try {
      // Kills what remains in each namespace (children of the children) before deleting it.
      await execFileAsync('bash', [HOSTS_SCRIPT, 'down', '--name', this.name]);
    } catch {
      this.teardownSync();
    }
    for (const host of this.hosts) rmSync(host.dir, { recursive: true, force: true });
    // Only now: a process exiting in the middle of close still tears down synchronously.
    this.removeHandlers();
  }

  /** For `exit` and signal handlers, where nothing asynchronous runs any more. */
  private teardownSync(): void {
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of listNamespaces()) {
      if (ns === `${this.name}-sw` || new RegExp(`^${escapeRegExp(this.name)}-h\\d+$`).test(ns)) deleteNamespaceSync(ns);
    }
    for (const host of this.hosts) rmSync(host.dir, { recursive: true, force: true });
  }

  private readonly onExit = (): void => this.teardownSync();

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.teardownSync();
    this.removeHandlers();
    // Re-raised only when no one else handles it (another set's handler, or the test runner's, which exits).
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };

  private addHandlers(): void {
    process.on('exit', this.onExit);
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    this.handlersOn = true;
  }

  private removeHandlers(): void {
    if (!this.handlersOn) return;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    this.handlersOn = false;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A host's own copy of the security material (`<host.dir>/security`), and the server side of it with that copy's paths. */
export function provisionHost(host: Host, bundle: SecurityBundle): { dir: string; server: ServerSecurity } {
  const dir = join(host.dir, 'security');
  cpSync(bundle.dir, dir, { recursive: true });
  const local = (file: string) => join(dir, file.slice(bundle.dir.length + 1));
  const server = clusterServerSecurity({
    ...bundle,
    dir,
    caFile: local(bundle.caFile),
    certFile: local(bundle.certFile),
    keyFile: local(bundle.keyFile),
    routeSecretFile: local(bundle.routeSecretFile),
  });
  return { dir, server };
}

/**
 * The environment of an `sci` process of `role` on `host` in a multi-host cluster: the NATS `servers`
 * it may use, the host's own copy of the secrets (provisionHost), the object store as storage with
 * the host's own cache, streams R3, JSON logs.
 */
export function hostEnv(host: Host, role: NatsRole, servers: string[]): Record<string, string> {
  return {
    SCI_NATS__SERVERS: JSON.stringify(servers),
    SCI_NATS__REPLICAS: '3',
    SCI_NATS__NKEY_SEED_FILE: join(host.dir, 'security', `${role}.nk`),
    SCI_NATS__TLS__CA_FILE: join(host.dir, 'security', 'ca.pem'),
    SCI_STORAGE__KIND: 'nats-object-store',
    SCI_STORAGE__CACHE__DIR: join(host.dir, 'cache'),
    SCI_LOG__PRETTY: 'false',
  };
}
