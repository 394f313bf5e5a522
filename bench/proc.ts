import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Peak resident set size of this process so far, in MiB (Linux VmHWM). */
export function peakRssMiB(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
}

/** Runs this same bench script as a child (one phase per process, so peak RSS is per phase). */
export function runPhase<T>(script: string, args: string[]): T {
  const result = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`bench phase ${args.join(' ')} failed with code ${result.status}`);
  const last = result.stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as T;
}

/** CPU seconds (user + system, every thread) a process has used so far, from /proc. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name's closing parenthesis (the name itself may hold one).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime, fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Samples VmRSS and CPU time of the given processes every 200 ms, from `start` on: the peak RSS
 * per role, and the CPU seconds per role as last seen (a process's time up to its last sample
 * before it ended, so within 200 ms of its whole).
 */
export function processSampler(
  roles: () => Record<string, number[]>,
  start: Record<string, number> = {},
): { peaks: Record<string, number>; cpuSeconds: Record<string, number>; stop: () => Record<string, number> } {
  const peaks: Record<string, number> = { ...start };
  const cpuByPid = new Map<number, { role: string; seconds: number }>();
  const cpuSeconds: Record<string, number> = {};
  const sample = () => {
    for (const [role, pids] of Object.entries(roles())) {
      for (const pid of pids) {
        try {
          const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
          peaks[role] = Math.max(peaks[role] ?? 0, kb / 1024);
          cpuByPid.set(pid, { role, seconds: processCpuSeconds(pid) });
        } catch {
          // The process ended between samples.
        }
      }
    }
    for (const role of Object.keys(cpuSeconds)) cpuSeconds[role] = 0;
    for (const { role, seconds } of cpuByPid.values()) cpuSeconds[role] = (cpuSeconds[role] ?? 0) + seconds;
  };
  sample();
  const timer = setInterval(sample, 200);
  return {
    peaks,
    cpuSeconds,
    stop: () => {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

/** Bytes of a file, or of every file under a folder (0 where nothing is there). */
export function duBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((n, name) => n + duBytes(join(path, name)), 0);
}

/** A child's exit as a promise; rejects on a non-zero exit, naming what it was. */
export function exited(child: ChildProcess, what: string): Promise<void> {
  return new Promise<void>((ok, fail) => child.once('exit', (code, signal) => (code === 0 ? ok() : fail(new Error(`${what} exited with ${code ?? signal}`)))));
}
