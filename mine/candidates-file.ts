import { readFileSync } from 'node:fs';
import { Field, Float32, Int32, Int64, makeVector, RecordBatch, RecordBatchReader, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { ShardFileWriter, type CommittedFile } from '../shards/index.js';
import type { Candidate, ShardCandidates } from './candidates.js';

/*
 * What one mine task hands to the merge: its shard's top-K' per query as an
 * Arrow file (query index, rank within the shard, row, passage id, score),
 * with the shard's best judged-positive score per query in a second column
 * set on the query's first row (NaN when the shard holds no positive of it).
 */

export const CANDIDATES_FORMAT = 'sci-cluster/mine-candidates@1';

const schema = new Schema(
  [
    new Field('query', new Int32(), false),
    new Field('rowId', new Int64(), false),
    new Field('externalId', new Utf8(), false),
    new Field('score', new Float32(), false),
    new Field('positiveScore', new Float32(), false),
    new Field('hasAnswer', new Int32(), false),
  ],
  new Map([['sci.format', CANDIDATES_FORMAT]]),
);

const BATCH_QUERIES = 1024;

/** Writes a shard's candidates; `positiveScores[q]` is NaN where this shard holds no judged positive of query q. */
export function writeCandidates(path: string, candidates: ShardCandidates, positiveScores: Float32Array): CommittedFile {
  const metadata = new Map([
    ...schema.metadata,
    ['sci.higherIsBetter', String(candidates.higherIsBetter)],
    ['sci.shard', String(candidates.shard)],
    ['sci.queries', String(candidates.lists.length)],
  ]);
  const fileSchema = new Schema(schema.fields, metadata);
  const file = new ShardFileWriter(path, fileSchema);
  try {
    for (let start = 0; start < candidates.lists.length; start += BATCH_QUERIES) {
      const query: number[] = [];
      const rowId: bigint[] = [];
      const externalId: string[] = [];
      const score: number[] = [];
      const positive: number[] = [];
      const answer: number[] = [];
      for (let q = start; q < Math.min(start + BATCH_QUERIES, candidates.lists.length); q++) {
        const list = candidates.lists[q]!;
        // A query with no candidate still gets a row (rowId −1) so its positive score travels.
        const rows = list.length > 0 ? list : [{ rowId: -1, externalId: '', score: Number.NaN, shard: candidates.shard }];
        rows.forEach((h, j) => {
          query.push(q);
          rowId.push(BigInt(h.rowId));
          externalId.push(h.externalId);
          score.push(h.score);
          positive.push(j === 0 ? positiveScores[q]! : Number.NaN);
          answer.push((h as Candidate).hasAnswer ? 1 : 0);
        });
      }
      const table = new Table({
        query: makeVector(Int32Array.from(query)),
        rowId: makeVector(BigInt64Array.from(rowId)),
        externalId: vectorFromArray(externalId, new Utf8()),
        score: makeVector(Float32Array.from(score)),
        positiveScore: makeVector(Float32Array.from(positive)),
        hasAnswer: makeVector(Int32Array.from(answer)),
      });
      for (const batch of table.batches) file.write(new RecordBatch(fileSchema, batch.data));
    }
    return file.commit();
  } catch (err) {
    file.abort();
    throw err;
  }
}

export interface ReadCandidates extends ShardCandidates {
  /** Best judged-positive score per query in this shard; NaN where none. */
  positiveScores: Float32Array;
}

export function readCandidates(path: string): ReadCandidates {
  const reader = RecordBatchReader.from(readFileSync(path)).open();
  const meta = reader.schema.metadata;
  if (meta.get('sci.format') !== CANDIDATES_FORMAT) throw new Error(`${path} is not a mine candidates file`);
  const nq = Number(meta.get('sci.queries'));
  const shard = Number(meta.get('sci.shard'));
  const lists: Candidate[][] = Array.from({ length: nq }, () => []);
  const positiveScores = new Float32Array(nq).fill(Number.NaN);
  for (const batch of reader) {
    const [query, rowId, externalId, score, positive, answer] = ['query', 'rowId', 'externalId', 'score', 'positiveScore', 'hasAnswer'].map((n) =>
      batch.getChild(n)!,
    );
    for (let i = 0; i < batch.numRows; i++) {
      const q = query!.get(i) as number;
      const p = positive!.get(i) as number;
      if (!Number.isNaN(p)) positiveScores[q] = p;
      const row = Number(rowId!.get(i) as bigint);
      if (row >= 0)
        lists[q]!.push({ rowId: row, externalId: externalId!.get(i) as string, score: score!.get(i) as number, shard, hasAnswer: answer!.get(i) === 1 });
    }
  }
  return { shard, higherIsBetter: meta.get('sci.higherIsBetter') === 'true', lists, positiveScores };
}
