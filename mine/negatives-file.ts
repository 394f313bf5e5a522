import { readFileSync } from 'node:fs';
import { Field, Float32, Int32, Int64, makeVector, RecordBatch, RecordBatchReader, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { ShardFileWriter, type CommittedFile } from '../shards/index.js';
import { MineInputError } from './errors.js';
import { utf8Column } from './utf8-column.js';

/*
 * A negatives file: one Arrow row per (query, negative passage) with its
 * provenance, written in bounded batches and committed atomically (temp name,
 * rename). Rows of a query are contiguous and in rank order.
 */

export const NEGATIVES_FORMAT = 'sci-cluster/negatives@1';

export interface NegativeRow {
  queryId: string;
  rowId: number;
  passageId: string;
  /** 1-based rank in the global top-K of the source. */
  rank: number;
  score: number;
  /** The judged positive's score under the same scorer; null when not known. */
  positiveScore: number | null;
  shard: number;
  /** Pipeline stage that mined it (e.g. "bm25", "dense-round-1"). */
  stage: string;
  /** "bm25" or "dense:<index name>". */
  source: string;
  /** Checkpoint whose query tower encoded the queries (null for BM25) and its step. */
  checkpoint: string | null;
  step: number | null;
}

export const negativesSchema = new Schema(
  [
    new Field('queryId', new Utf8(), false),
    new Field('rowId', new Int64(), false),
    new Field('passageId', new Utf8(), false),
    new Field('rank', new Int32(), false),
    new Field('score', new Float32(), false),
    new Field('positiveScore', new Float32(), true),
    new Field('shard', new Int32(), false),
    new Field('stage', new Utf8(), false),
    new Field('source', new Utf8(), false),
    new Field('checkpoint', new Utf8(), true),
    new Field('step', new Int32(), true),
  ],
  new Map([['sci.format', NEGATIVES_FORMAT]]),
);

const BATCH_ROWS = 65_536;

export class NegativesWriter {
  private readonly file: ShardFileWriter;
  private pending: NegativeRow[] = [];

  constructor(path: string) {
    this.file = new ShardFileWriter(path, negativesSchema);
  }

  get rows(): number {
    return this.file.rows + this.pending.length;
  }

  add(rows: readonly NegativeRow[]): void {
    for (const row of rows) this.pending.push(row);
    if (this.pending.length >= BATCH_ROWS) this.flush();
  }

  /** The end of a batch of queries: what is pending becomes a record batch (boundaries that depend on the queries alone). */
  endBatch(): void {
    this.flush();
  }

  commit(): CommittedFile {
    this.flush();
    return this.file.commit();
  }

  abort(): void {
    this.file.abort();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    this.pending = [];
    const column = <T>(pick: (r: NegativeRow) => T) => rows.map(pick);
    const table = new Table({
      queryId: utf8Column(column((r) => r.queryId)),
      rowId: makeVector(BigInt64Array.from(rows, (r) => BigInt(r.rowId))),
      passageId: utf8Column(column((r) => r.passageId)),
      rank: makeVector(Int32Array.from(rows, (r) => r.rank)),
      score: makeVector(Float32Array.from(rows, (r) => r.score)),
      positiveScore: vectorFromArray(
        column((r) => r.positiveScore),
        new Float32(),
      ),
      shard: makeVector(Int32Array.from(rows, (r) => r.shard)),
      stage: utf8Column(column((r) => r.stage)),
      source: utf8Column(column((r) => r.source)),
      checkpoint: utf8Column(column((r) => r.checkpoint)),
      step: vectorFromArray(
        column((r) => r.step),
        new Int32(),
      ),
    });
    for (const batch of table.batches) this.file.write(new RecordBatch(negativesSchema, batch.data));
  }
}

/** Every row of a negatives file (the inspect command and the training reader). */
export function readNegativesFile(path: string): NegativeRow[] {
  const reader = RecordBatchReader.from(readFileSync(path));
  const rows: NegativeRow[] = [];
  for (const batch of reader) {
    const col = (name: string) => batch.getChild(name)!;
    const [queryId, rowId, passageId, rank, score, positiveScore, shard, stage, source, checkpoint, step] = [
      'queryId',
      'rowId',
      'passageId',
      'rank',
      'score',
      'positiveScore',
      'shard',
      'stage',
      'source',
      'checkpoint',
      'step',
    ].map(col);
    for (let i = 0; i < batch.numRows; i++) {
      rows.push({
        queryId: queryId!.get(i) as string,
        rowId: Number(rowId!.get(i) as bigint),
        passageId: passageId!.get(i) as string,
        rank: rank!.get(i) as number,
        score: score!.get(i) as number,
        positiveScore: (positiveScore!.get(i) as number | null) ?? null,
        shard: shard!.get(i) as number,
        stage: stage!.get(i) as string,
        source: source!.get(i) as string,
        checkpoint: (checkpoint!.get(i) as string | null) ?? null,
        step: (step!.get(i) as number | null) ?? null,
      });
    }
  }
  return rows;
}

/**
 * Negatives files of consecutive query ranges as one file: their record batches copied in order
 * (nothing decoded), so the parts of a split merge give the single merge's file byte for byte.
 */
export function concatNegativesFiles(parts: readonly string[], out: string): CommittedFile {
  const file = new ShardFileWriter(out, negativesSchema);
  try {
    for (const part of parts) {
      const reader = RecordBatchReader.from(readFileSync(part));
      reader.open();
      if (reader.schema.metadata.get('sci.format') !== NEGATIVES_FORMAT)
        throw new MineInputError(`${part} is not a negatives file (${NEGATIVES_FORMAT})`, { file: part });
      // An empty part reads back as one empty placeholder batch; the single merge writes none.
      for (const batch of reader) if (batch.numRows > 0) file.write(new RecordBatch(negativesSchema, batch.data));
    }
    return file.commit();
  } catch (err) {
    file.abort();
    throw err;
  }
}
