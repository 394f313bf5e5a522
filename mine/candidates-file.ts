import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import {
  AsyncRecordBatchFileReader,
  Field,
  Float32,
  Int32,
  Int64,
  makeVector,
  RecordBatch,
  RecordBatchReader,
  Schema,
  Table,
  Utf8,
  type RecordBatch as Batch,
} from 'apache-arrow';
import { ShardFileWriter, type CommittedFile } from '../shards/index.js';
import type { Candidate, CandidateBatch, ShardCandidates } from './candidates.js';
import { MineInputError, MineInvariantError } from './errors.js';
import { utf8Column } from './utf8-column.js';

/*
 * What one mine task hands to the merge: its shard's top-K per query as an
 * Arrow file, one record batch per batch of queries (so the merge reads every
 * shard's file in lockstep, a batch at a time). Columns: query index, row,
 * passage id, score, the shard's best judged-positive score on the query's
 * first row (NaN elsewhere or when the shard holds no positive of it), and
 * the has-answer mark. A query with no candidate still gets a row (row −1).
 */

export const CANDIDATES_FORMAT = 'sci-cluster/mine-candidates@2';

const FIELDS = [
  new Field('query', new Int32(), false),
  new Field('rowId', new Int64(), false),
  new Field('externalId', new Utf8(), false),
  new Field('score', new Float32(), false),
  new Field('positiveScore', new Float32(), false),
  new Field('hasAnswer', new Int32(), false),
];

export interface CandidatesHeader {
  shard: number;
  higherIsBetter: boolean;
  queries: number;
}

export class CandidatesWriter {
  private readonly schema: Schema;
  private readonly file: ShardFileWriter;
  private next = 0;

  constructor(
    path: string,
    private readonly header: CandidatesHeader,
  ) {
    const metadata = new Map([
      ['sci.format', CANDIDATES_FORMAT],
      ['sci.higherIsBetter', String(header.higherIsBetter)],
      ['sci.shard', String(header.shard)],
      ['sci.queries', String(header.queries)],
    ]);
    this.schema = new Schema(FIELDS, metadata);
    this.file = new ShardFileWriter(path, this.schema);
  }

  /** One batch, in query order; `positiveScores[q]` (indexed by global query) is NaN where this shard holds no positive. */
  add(batch: CandidateBatch, positiveScores: Float32Array): void {
    if (batch.start !== this.next) throw new MineInvariantError(`candidate batches out of order: got ${batch.start}, expected ${this.next}`);
    this.next = batch.start + batch.lists.length;
    // Columns filled in place (a query with no candidate still gets one row, row −1): typed arrays and one
    // cached Utf8 column, not per-cell builders — this stage writes every shard's top-K of every query.
    const rows = batch.lists.reduce((n, list) => n + Math.max(1, list.length), 0);
    const query = new Int32Array(rows);
    const rowId = new BigInt64Array(rows);
    const externalId = new Array<string>(rows);
    const score = new Float32Array(rows);
    const positive = new Float32Array(rows).fill(Number.NaN);
    const answer = new Int32Array(rows);
    let at = 0;
    batch.lists.forEach((list, i) => {
      const q = batch.start + i;
      positive[at] = positiveScores[q]!;
      if (list.length === 0) {
        query[at] = q;
        rowId[at] = -1n;
        externalId[at] = '';
        score[at] = Number.NaN;
        at += 1;
        return;
      }
      for (const h of list) {
        query[at] = q;
        rowId[at] = BigInt(h.rowId);
        externalId[at] = h.externalId;
        score[at] = h.score;
        answer[at] = h.hasAnswer ? 1 : 0;
        at += 1;
      }
    });
    const table = new Table({
      query: makeVector(query),
      rowId: makeVector(rowId),
      externalId: utf8Column(externalId),
      score: makeVector(score),
      positiveScore: makeVector(positive),
      hasAnswer: makeVector(answer),
    });
    for (const b of table.batches) this.file.write(new RecordBatch(this.schema, b.data));
  }

  commit(): CommittedFile {
    if (this.next !== this.header.queries) throw new MineInvariantError(`candidates for ${this.next} of ${this.header.queries} queries`);
    return this.file.commit();
  }

  abort(): void {
    this.file.abort();
  }
}

interface ReadBatch extends CandidateBatch {
  /** Best judged-positive score per query of the batch (NaN where none). */
  positiveScores: Float32Array;
}

function headerOf(schema: Schema, path: string): CandidatesHeader {
  const meta = schema.metadata;
  if (meta.get('sci.format') !== CANDIDATES_FORMAT) throw new MineInputError(`${path} is not a mine candidates file (${CANDIDATES_FORMAT})`, { file: path });
  return { shard: Number(meta.get('sci.shard')), higherIsBetter: meta.get('sci.higherIsBetter') === 'true', queries: Number(meta.get('sci.queries')) };
}

/** The queries of one record batch, grouped back into lists (a batch holds whole queries). */
function decode(batch: Batch, shard: number): ReadBatch {
  // Whole columns at once (typed arrays, one string array): per-cell get() dominated the merge.
  const column = (name: string) => batch.getChild(name)!.toArray();
  const query = column('query') as Int32Array;
  const rowId = column('rowId') as BigInt64Array;
  const externalId = column('externalId') as string[];
  const score = column('score') as Float32Array;
  const positive = column('positiveScore') as Float32Array;
  const answer = column('hasAnswer') as Int32Array;
  const first = query[0]!;
  const last = query[batch.numRows - 1]!;
  const lists: Candidate[][] = Array.from({ length: last - first + 1 }, () => []);
  const positiveScores = new Float32Array(last - first + 1).fill(Number.NaN);
  for (let i = 0; i < batch.numRows; i++) {
    const q = query[i]! - first;
    const p = positive[i]!;
    if (!Number.isNaN(p)) positiveScores[q] = p;
    const row = Number(rowId[i]!);
    if (row >= 0) lists[q]!.push({ rowId: row, externalId: externalId[i]!, score: score[i]!, shard, hasAnswer: answer[i] === 1 });
  }
  return { start: first, lists, positiveScores };
}

/**
 * One record batch as columns, what the merge reads: nothing per candidate is made into an
 * object, and a passage id is decoded only when asked for (the merge asks for the global
 * top-K's, an eighth of the candidates over 8 shards).
 */
export interface ColumnBatch {
  shard: number;
  /** First query of the batch, and how many. */
  start: number;
  queries: number;
  /** Rows of query start + i: [begin[i], end[i]), best first (empty where the shard had no candidate). */
  begin: Int32Array;
  end: Int32Array;
  rowIds: Float64Array;
  scores: Float32Array;
  hasAnswer: Int32Array;
  /** Best judged-positive score per query of the batch (NaN where none). */
  positiveScores: Float32Array;
  externalId(row: number): string;
}

function decodeColumns(batch: Batch, shard: number): ColumnBatch {
  const n = batch.numRows;
  const query = batch.getChild('query')!.toArray() as Int32Array;
  // Int64 row ids through two 32-bit views: exact below 2^53, and no BigInt per row.
  const raw = batch.getChild('rowId')!.toArray() as BigInt64Array;
  const low = new Uint32Array(raw.buffer, raw.byteOffset, 2 * n);
  const high = new Int32Array(raw.buffer, raw.byteOffset, 2 * n);
  const rowIds = new Float64Array(n);
  for (let i = 0; i < n; i++) rowIds[i] = high[2 * i + 1]! * 4294967296 + low[2 * i]!;
  const positive = batch.getChild('positiveScore')!.toArray() as Float32Array;
  const ids = batch.getChild('externalId')!;
  const first = query[0]!;
  const queries = query[n - 1]! - first + 1;
  const begin = new Int32Array(queries);
  const end = new Int32Array(queries);
  const positiveScores = new Float32Array(queries).fill(Number.NaN);
  for (let i = 0; i < n; i++) {
    const q = query[i]! - first;
    if (i === 0 || query[i - 1] !== query[i]) begin[q] = i;
    // A query with no candidate has one row with row id −1: an empty range.
    if (rowIds[i]! >= 0) end[q] = i + 1;
    else end[q] = begin[q]!;
    if (!Number.isNaN(positive[i]!)) positiveScores[q] = positive[i]!;
  }
  return {
    shard,
    start: first,
    queries,
    begin,
    end,
    rowIds,
    scores: batch.getChild('score')!.toArray() as Float32Array,
    hasAnswer: batch.getChild('hasAnswer')!.toArray() as Int32Array,
    positiveScores,
    externalId: (row) => ids.get(row) as string,
  };
}

export interface OpenCandidates extends CandidatesHeader {
  /** Record batches in order from the one asked for; each holds whole queries. */
  batches: AsyncIterator<ColumnBatch>;
  close(): Promise<void>;
}

/** The first query of record batch `index` (its query column only is looked at). */
async function firstQueryOf(reader: AsyncRecordBatchFileReader, index: number, path: string): Promise<number> {
  const batch = await reader.readRecordBatch(index);
  if (!batch || batch.numRows === 0) throw new MineInputError(`${path}: record batch ${index} is empty`, { file: path });
  return batch.getChild('query')!.get(0) as number;
}

/** The record batch that starts at query `from` (binary search over the footer's batches: a few batches read, not the file). */
async function batchStartingAt(reader: AsyncRecordBatchFileReader, from: number, queries: number, path: string): Promise<number> {
  let lo = 0;
  let hi = reader.numRecordBatches;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((await firstQueryOf(reader, mid, path)) < from) lo = mid + 1;
    else hi = mid;
  }
  const starts = lo < reader.numRecordBatches ? (await firstQueryOf(reader, lo, path)) === from : from === queries;
  if (!starts)
    throw new MineInputError(`${path}: no record batch starts at query ${from} (a merge part must begin where a batch of queries does)`, { file: path });
  return lo;
}

/**
 * Opens a candidates file for streaming from the batch that starts at query `from` (0: the
 * whole file): record batches are read one at a time through the file's footer, so a merge
 * part reads its own range of every shard's file and nothing before it.
 */
export async function openCandidates(path: string, from = 0): Promise<OpenCandidates> {
  const handle = await open(path);
  try {
    const reader = await RecordBatchReader.from(handle);
    await reader.open();
    if (!(reader instanceof AsyncRecordBatchFileReader))
      throw new MineInputError(`${path} is an Arrow stream, not a file with a footer (${CANDIDATES_FORMAT})`, { file: path });
    const header = headerOf(reader.schema, path);
    let next = await batchStartingAt(reader, from, header.queries, path);
    const batches: AsyncIterator<ColumnBatch> = {
      async next() {
        if (next >= reader.numRecordBatches) return { done: true, value: undefined };
        const batch = await reader.readRecordBatch(next++);
        return { done: false, value: decodeColumns(batch!, header.shard) };
      },
    };
    return { ...header, batches, close: () => handle.close() };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The whole file at once (inspection and tests). */
export function readCandidates(path: string): ShardCandidates & { positiveScores: Float32Array } {
  const reader = RecordBatchReader.from(readFileSync(path)).open();
  const header = headerOf(reader.schema, path);
  const lists: Candidate[][] = Array.from({ length: header.queries }, () => []);
  const positiveScores = new Float32Array(header.queries).fill(Number.NaN);
  for (const batch of reader) {
    const b = decode(batch, header.shard);
    b.lists.forEach((l, i) => (lists[b.start + i] = l));
    positiveScores.set(b.positiveScores, b.start);
  }
  return { shard: header.shard, higherIsBetter: header.higherIsBetter, lists, positiveScores };
}
