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

/** Commander parser for a list of integers: `1,2,3`, `1-3`, or both (`1-3,5`), in the order given, without repeats. */
export function intList(flag: string): (value: string) => number[] {
  return (value) => {
    const out: number[] = [];
    for (const part of value.split(',')) {
      const range = /^\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?$/.exec(part);
      if (!range) throw new InvalidArgumentError(`${flag} expects integers like 1,2,3 or 1-3, got ${JSON.stringify(value)}`);
      const from = Number(range[1]);
      const to = range[2] === undefined ? from : Number(range[2]);
      if (to < from) throw new InvalidArgumentError(`${flag}: range ${part.trim()} runs backwards`);
      for (let n = from; n <= to; n++) if (!out.includes(n)) out.push(n);
    }
    return out;
  };
}

/** `--layout shards|routed|groups`: what serves an index set (its shards, routed IVF partitions, graph groups). */
export function layoutOption(what: string): Option {
  return new Option('--layout <layout>', `${what}: the set's shards, its routed partitions (an index job with --routed) or its graph groups (--graph-groups)`)
    .choices([...SERVING_LAYOUTS])
    .default('shards');
}
