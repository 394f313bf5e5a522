import { InvalidArgumentError } from 'commander';

/** Commander argument parser for a positive integer flag. */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
    return n;
  };
}
