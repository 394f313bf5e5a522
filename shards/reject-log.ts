import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/** Why a row was not written. Stable codes: reports and tests count by them. */
export type RejectReason =
  | 'malformed_json'
  | 'not_an_object'
  | 'missing_field'
  | 'wrong_type'
  | 'invalid_utf8'
  | 'empty_text'
  | 'duplicate_id'
  | 'line_too_long'
  | 'wrong_field_count'
  | 'bad_quoting'
  | 'unknown_query_id'
  | 'unknown_corpus_id'
  | 'bad_score';

/** What kind of row was rejected; each kind has its own in = written + rejected count. */
export type RowKind = 'passage' | 'query' | 'qrel';

export interface RejectedRow {
  kind: RowKind;
  reason: RejectReason;
  /** Input file the row came from. */
  source: string;
  /** 1-based physical line; for JSON array inputs, the 1-based record index (see `position`). */
  line: number;
  /** What `line` counts. */
  position: 'line' | 'record';
  message: string;
  excerpt: string;
}

/**
 * Append-only JSONL log of rejected rows, one object per line, with counts by
 * kind and reason for the manifest.
 */
export class RejectLog {
  readonly path: string;
  private readonly out: WriteStream;
  private readonly byKind = new Map<RowKind, number>();
  private readonly byReason = new Map<string, number>();

  constructor(path: string) {
    this.path = path;
    this.out = createWriteStream(path, { flags: 'w' });
  }

  async add(row: RejectedRow): Promise<void> {
    this.byKind.set(row.kind, (this.byKind.get(row.kind) ?? 0) + 1);
    const key = `${row.kind}:${row.reason}`;
    this.byReason.set(key, (this.byReason.get(key) ?? 0) + 1);
    if (!this.out.write(`${JSON.stringify(row)}\n`)) await once(this.out, 'drain');
  }

  count(kind: RowKind): number {
    return this.byKind.get(kind) ?? 0;
  }

  /** `{"passage:duplicate_id": 3, ...}`, sorted by key. */
  reasons(): Record<string, number> {
    return Object.fromEntries([...this.byReason.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  async close(): Promise<void> {
    this.out.end();
    await once(this.out, 'close');
  }
}
