import { isRelativeName } from '../storage/index.js';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PASSAGE_FORMAT } from './passage-schema.js';
import { ShardFormatError } from './errors.js';
import { parseContract, tempPathFor } from '../common/index.js';

export const MANIFEST_FILE = 'manifest.json';

export const ID_POLICY =
  'rowId = 0-based position of the row among accepted rows, in the order the ingester reads its input files; ' +
  'shard k holds rowIds [firstRowId, firstRowId + rows); every row stores rowId and externalId, so reading never depends on file order';

const count = z.number().int().nonnegative();

export const ShardEntrySchema = z.strictObject({
  id: count,
  /** Relative to the manifest's folder. */
  path: z.string().min(1).refine(isRelativeName, { message: "expected a file name relative to the manifest's folder (no '..', not absolute)" }),
  rows: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: count,
  firstRowId: count,
});
export type ShardEntry = z.infer<typeof ShardEntrySchema>;

const FileEntrySchema = z.strictObject({
  path: z.string().min(1).refine(isRelativeName, { message: "expected a relative file name (no '..', not absolute)" }),
  rows: count,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const RowAccountSchema = z.strictObject({ rowsIn: count, rowsWritten: count, rowsRejected: count });

export const ManifestSchema = z.strictObject({
  format: z.literal(PASSAGE_FORMAT),
  createdAt: z.string(),
  source: z.strictObject({
    format: z.enum(['tsv', 'beir', 'dpr', 'wordnet', 'parquet']),
    input: z.string(),
    files: z.array(z.string()),
  }),
  idPolicy: z.string(),
  rowsIn: count,
  rowsWritten: count,
  rowsRejected: count,
  rejectedPath: z.string(),
  /** `kind:reason` → count, over passages, queries and qrels. */
  rejectReasons: z.record(z.string(), count),
  /** Lines that carry no row (headers, blank lines, license text); counted, never rows. */
  linesSkipped: z.record(z.string(), count),
  /** DPR JSON: later mentions of a passage already written (a reference, not a row). */
  passageReferences: count,
  shards: z.array(ShardEntrySchema),
  queries: RowAccountSchema.extend({ path: z.string(), sha256: z.string(), splits: z.record(z.string(), count) }).nullable(),
  qrels: RowAccountSchema.extend({ splits: z.record(z.string(), FileEntrySchema) }).nullable(),
  negatives: z.strictObject({ splits: z.record(z.string(), FileEntrySchema) }).nullable(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Writes `manifest.json` through a temp name and rename. */
export function writeManifest(dir: string, manifest: Manifest): string {
  const path = join(dir, MANIFEST_FILE);
  const temp = tempPathFor(path);
  writeFileSync(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(temp, path);
  return path;
}

/** Reads and validates a manifest (a folder or the file itself), checking the row accounting. */
export function readManifest(pathOrDir: string): { manifest: Manifest; dir: string; path: string } {
  const path = pathOrDir.endsWith('.json') ? pathOrDir : join(pathOrDir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ShardFormatError(`cannot read manifest: ${(err as Error).message}`, { file: path, cause: err });
  }
  const manifest = parseContract(ManifestSchema, raw, { what: 'invalid manifest', error: ShardFormatError, file: path });
  checkAccounting(manifest, path);
  return { manifest, dir: dirname(path), path };
}

function checkAccounting(m: Manifest, file: string): void {
  const fail = (message: string, field: string) => {
    throw new ShardFormatError(`inconsistent manifest: ${message}`, { file, field });
  };
  if (m.rowsIn !== m.rowsWritten + m.rowsRejected) fail(`rowsIn ${m.rowsIn} != rowsWritten ${m.rowsWritten} + rowsRejected ${m.rowsRejected}`, 'rowsIn');
  const shardRows = m.shards.reduce((sum, s) => sum + s.rows, 0);
  if (shardRows !== m.rowsWritten) fail(`shard rows add up to ${shardRows}, rowsWritten is ${m.rowsWritten}`, 'shards');
  let expectedFirst = 0;
  for (const [i, shard] of m.shards.entries()) {
    if (shard.id !== i) fail(`shard at position ${i} has id ${shard.id}`, `shards.${i}.id`);
    if (shard.firstRowId !== expectedFirst) fail(`shard ${i} firstRowId ${shard.firstRowId}, expected ${expectedFirst}`, `shards.${i}.firstRowId`);
    expectedFirst += shard.rows;
  }
  for (const [name, acc] of [
    ['queries', m.queries],
    ['qrels', m.qrels],
  ] as const) {
    if (acc && acc.rowsIn !== acc.rowsWritten + acc.rowsRejected) fail(`${name}.rowsIn != rowsWritten + rowsRejected`, `${name}.rowsIn`);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Recomputes every shard's checksum; throws naming the first mismatch. */
export async function verifyShardChecksums(manifest: Manifest, dir: string): Promise<void> {
  for (const shard of manifest.shards) {
    const file = join(dir, shard.path);
    let actual: string;
    try {
      actual = await sha256File(file);
    } catch (err) {
      throw new ShardFormatError(`shard ${shard.id} missing: ${(err as Error).message}`, { file, cause: err });
    }
    if (actual !== shard.sha256) throw new ShardFormatError(`shard ${shard.id} checksum mismatch: ${actual} != ${shard.sha256}`, { file });
  }
}
