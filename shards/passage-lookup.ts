import { join } from 'node:path';
import { ArrowRowReader } from './arrow-row-reader.js';
import { ShardFormatError } from './errors.js';
import { PASSAGE_FORMAT } from './passage-schema.js';
import type { ShardEntry } from './manifest.js';

/** Passage columns a search hit can carry. */
export const PASSAGE_FIELDS = ['title', 'text'] as const;
export type PassageField = (typeof PASSAGE_FIELDS)[number];
export type PassageFields = Partial<Record<PassageField, string>>;

/**
 * A passage shard's title and text by global row id, read from the Arrow file a few bytes at a time
 * (shards/arrow-row-reader.ts): a shard server answers `fields` without holding its texts in memory.
 */
export class PassageLookup {
  private constructor(
    private readonly reader: ArrowRowReader,
    /** The shard's first global row id. */
    readonly firstRowId: number,
  ) {}

  /** `firstRowId`: the shard's first global row id (its manifest entry); each read checks the row's stored id against it. */
  static open(path: string, firstRowId: number): PassageLookup {
    const reader = ArrowRowReader.open(path);
    const format = reader.schema.metadata.get('sci.format');
    if (format !== PASSAGE_FORMAT) {
      reader.close();
      throw new ShardFormatError(`not a passage shard (sci.format = ${format ?? 'none'})`, { file: path });
    }
    return new PassageLookup(reader, firstRowId);
  }

  get rows(): number {
    return this.reader.rows;
  }

  read(rowIds: readonly number[], fields: readonly PassageField[]): PassageFields[] {
    const positions = rowIds.map((id) => id - this.firstRowId);
    const stored = this.reader.int64At('rowId', positions);
    stored.forEach((id, i) => {
      if (Number(id) !== rowIds[i])
        throw new ShardFormatError(`row ${positions[i]} holds row id ${id}, not ${rowIds[i]}: the shard is not the one its manifest names`, {
          file: this.reader.path,
        });
    });
    const out: PassageFields[] = rowIds.map(() => ({}));
    for (const field of fields) this.reader.utf8At(field, positions).forEach((value, i) => (out[i]![field] = value));
    return out;
  }

  /** The rows' external ids (the source's own passage ids, which judgments name). */
  externalIds(rowIds: readonly number[]): string[] {
    return this.reader.utf8At(
      'externalId',
      rowIds.map((id) => id - this.firstRowId),
    );
  }

  close(): void {
    this.reader.close();
  }
}

/**
 * The given global rows of a passage set in `dir` (its manifest's `shards`): each row's `fields` and
 * external id, read shard by shard with one lookup open at a time (row ids checked, as `read` does).
 */
export function readPassageRows(
  dir: string,
  shards: readonly ShardEntry[],
  rows: Iterable<number>,
  fields: readonly PassageField[],
): Map<number, PassageFields & { externalId: string }> {
  const sorted = [...new Set(rows)].sort((a, b) => a - b);
  const out = new Map<number, PassageFields & { externalId: string }>();
  for (const shard of shards) {
    const mine = sorted.filter((r) => r >= shard.firstRowId && r < shard.firstRowId + shard.rows);
    if (mine.length === 0) continue;
    const lookup = PassageLookup.open(join(dir, shard.path), shard.firstRowId);
    try {
      const read = lookup.read(mine, fields);
      const ids = lookup.externalIds(mine);
      mine.forEach((row, i) => out.set(row, { ...read[i]!, externalId: ids[i]! }));
    } finally {
      lookup.close();
    }
  }
  return out;
}
