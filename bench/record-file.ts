import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/*
 * A bench's record and the README block made from it, each written through a
 * temp name and a rename (a reader never sees half of either).
 */

/** Writes `value` as indented JSON to `file`, creating its folder. */
export function writeRecordFile(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** Replaces the text between a block's markers (`block`: open marker, body, close marker as three groups) with `markdown`. */
export function replaceReadmeBlock(readmePath: string, block: RegExp, name: string, markdown: string): void {
  const readme = readFileSync(readmePath, 'utf8');
  if (!block.test(readme)) throw new Error(`${readmePath} has no <!-- ${name}:start --> … <!-- ${name}:end --> block`);
  writeFileSync(
    `${readmePath}.tmp`,
    readme.replace(block, (_, open: string, __: string, close: string) => open + markdown + close),
  );
  renameSync(`${readmePath}.tmp`, readmePath);
}
