import { InvalidArgumentError, Option } from 'commander';
import { SERVING_LAYOUTS } from '../search/index.js';

/** Commander argument parser for a positive integer flag. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** `--layout shards|routed|groups`: what serves an index set (its shards, routed IVF partitions, graph groups). */
export function layoutOption(what: string): Option {
  return new Option('--layout <layout>', `${what}: the set's shards, its routed partitions (an index job with --routed) or its graph groups (--graph-groups)`)
    .choices([...SERVING_LAYOUTS])
    .default('shards');
}
