import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

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
