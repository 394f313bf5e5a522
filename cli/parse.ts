import { InvalidArgumentError, Option } from 'commander';
import { SERVING_LAYOUTS } from '../search/index.js';
import { UsageError } from '../common/index.js';
import { setPath } from '../config/index.js';

/** Commander argument parser for a positive integer flag. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** `--set path=value` flags applied to a raw config object: the value as JSON, else as a string. */
export function applySetFlags(raw: Record<string, unknown>, assignments: readonly string[]): void {
  for (const assignment of assignments) {
    const eq = assignment.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects path=value, got ${JSON.stringify(assignment)}`);
    const text = assignment.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = text;
    }
    setPath(raw, assignment.slice(0, eq).split('.'), value);
  }
}

/** `--layout shards|routed|groups`: what serves an index set (its shards, routed IVF partitions, graph groups). */
export function layoutOption(what: string): Option {
  return new Option('--layout <layout>', `${what}: the set's shards, its routed partitions (an index job with --routed) or its graph groups (--graph-groups)`)
    .choices([...SERVING_LAYOUTS])
    .default('shards');
}
