import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/*
 * The one way a `sci` process starts another: this Node running bin/sci.js,
 * the caller's environment over the parent's. The local cluster's
 * coordinator, workers and servers, the benches and the tests all start
 * theirs here, and every shard server's command line comes from
 * shardServerArgs.
 */

export const SCI_BIN = fileURLToPath(new URL('../../bin/sci.js', import.meta.url));

export interface SpawnSciOptions {
  env?: Record<string, string | undefined>;
  /** Both output streams appended to this file; else `stdio` (default: ignored). */
  log?: string;
  stdio?: StdioOptions;
  /** Outlives this process (the local cluster's processes). */
  detached?: boolean;
}

export function spawnSci(args: readonly string[], options: SpawnSciOptions = {}): ChildProcess {
  const out = options.log ? openSync(options.log, 'a') : null;
  try {
    const child = spawn(process.execPath, [SCI_BIN, ...args], {
      env: { ...process.env, ...options.env },
      stdio: out !== null ? ['ignore', out, out] : (options.stdio ?? 'ignore'),
      detached: options.detached ?? false,
    });
    if (options.detached) child.unref();
    return child;
  } finally {
    // The child holds its own copy of the log's descriptor.
    if (out !== null) closeSync(out);
  }
}

/** The argv of `sci <args>`, for a wrapper that runs it somewhere else (`ip netns exec <host>`). */
export function sciArgv(args: readonly string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: [SCI_BIN, ...args] };
}

/** `sci serve shards` over an index set: all its shards, or a group of them (`0,2` or `0-3`), in a serving layout. */
export function shardServerArgs(indexSet: string, options: { shards?: readonly number[] | string; layout?: string } = {}): string[] {
  const shards = options.shards === undefined ? [] : ['--shards', typeof options.shards === 'string' ? options.shards : options.shards.join(',')];
  return ['serve', 'shards', '--index-set', indexSet, ...shards, ...(options.layout ? ['--layout', options.layout] : [])];
}
