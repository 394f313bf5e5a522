import type { ChildProcess } from 'node:child_process';
import { shardServerArgs, spawnSci } from '../cli/sci-process.js';

/*
 * `sci serve shards` processes for the benches: one per group of shards
 * (`--shards 0-3`), started together; `ready` resolves once every one has
 * printed that it serves, and rejects if one exits first.
 */
export function spawnShardServers(
  env: NodeJS.ProcessEnv,
  indexSet: string,
  groups: readonly string[],
  extraArgs: readonly string[] = [],
): { children: ChildProcess[]; ready: Promise<void> } {
  const children = groups.map((shards) => spawnSci([...shardServerArgs(indexSet, { shards }), ...extraArgs], { env, stdio: ['ignore', 'pipe', 'inherit'] }));
  const ready = Promise.all(
    children.map(
      (child) =>
        new Promise<void>((ok, fail) => {
          child.stdout!.once('data', () => ok());
          child.once('exit', (code) => fail(new Error(`a shard server of ${indexSet} exited with ${code} before serving`)));
        }),
    ),
  ).then(() => undefined);
  return { children, ready };
}

/** SIGTERM to each process still running; resolves when all have exited. */
export function stopProcesses(children: readonly ChildProcess[]): Promise<void> {
  return Promise.all(
    children.map((child) => new Promise<void>((ok) => (child.exitCode !== null ? ok() : (child.once('exit', () => ok()), child.kill('SIGTERM'))))),
  ).then(() => undefined);
}
