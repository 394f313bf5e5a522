import { readFileSync } from 'node:fs';
import { Field, FixedSizeList, Float16, Float32, Int64, makeData, RecordBatch, RecordBatchReader, Schema, Struct, Utf8 } from 'apache-arrow';
import { toHalf } from '../vectors/index.js';
import { EMBEDDING_SET_FORMAT, ShardFileWriter } from '../shards/index.js';

/*
 * Embedding shards: one Arrow IPC file per passage shard with the passage's
 * global rowId, its externalId and one FixedSizeList<Float32>[dim] column
 * per view (`embedding` for a one-tower encoder; `embedding_q` and
 * `embedding_i` for two towers). With dtype f16 the columns are
 * FixedSizeList<Float16>: half the bytes; readers widen them to float32.
 */

/** How embedding values are stored. */
export type EmbeddingDtype = 'f32' | 'f16';
const valueType = (dtype: EmbeddingDtype) => (dtype === 'f16' ? new Float16() : new Float32());

/** The embedding set's format, owned by the set's contract (shards/set-manifest.ts). */
export const EMBEDDING_FORMAT = EMBEDDING_SET_FORMAT;

export function embeddingSchema(dim: number, views: readonly string[], metadata: Record<string, string> = {}, dtype: EmbeddingDtype = 'f32'): Schema {
  return new Schema(
    [
      new Field('rowId', new Int64(), false),
      new Field('externalId', new Utf8(), false),
      ...views.map((v) => new Field(v, new FixedSizeList(dim, new Field('item', valueType(dtype), false)), false)),
    ],
    new Map(Object.entries({ 'sci.format': EMBEDDING_FORMAT, 'sci.dim': String(dim), ...metadata })),
  );
}

/** Writes embedding batches to one shard file (temp name, sha256, rename). */
export class EmbeddingShardWriter {
  private readonly file: ShardFileWriter;
  private readonly schema: Schema;

  constructor(
    path: string,
    readonly dim: number,
    readonly views: readonly string[],
    metadata: Record<string, string> = {},
    readonly dtype: EmbeddingDtype = 'f32',
  ) {
    this.schema = embeddingSchema(dim, views, metadata, dtype);
    this.file = new ShardFileWriter(path, this.schema);
  }

  /** `vectors[v]` is n × dim for view v. */
  write(rowIds: readonly number[], externalIds: readonly string[], vectors: readonly Float32Array[]): void {
    const n = rowIds.length;
    const ids = makeData({ type: new Int64(), length: n, nullCount: 0, data: BigInt64Array.from(rowIds, (v) => BigInt(v)) });
    const offsets = new Int32Array(n + 1);
    let total = 0;
    externalIds.forEach((id, i) => {
      total += Buffer.byteLength(id);
      offsets[i + 1] = total;
    });
    const bytes = Buffer.allocUnsafe(total);
    externalIds.forEach((id, i) => bytes.write(id, offsets[i]!));
    const external = makeData({ type: new Utf8(), length: n, nullCount: 0, valueOffsets: offsets, data: bytes });
    const columns = vectors.map((data) =>
      makeData({
        type: new FixedSizeList(this.dim, new Field('item', valueType(this.dtype), false)),
        length: n,
        nullCount: 0,
        child:
          this.dtype === 'f16'
            ? makeData({ type: new Float16(), length: n * this.dim, nullCount: 0, data: toHalf(data) })
            : makeData({ type: new Float32(), length: n * this.dim, nullCount: 0, data }),
      }),
    );
    this.file.write(
      new RecordBatch(this.schema, makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children: [ids, external, ...columns] })),
    );
  }

  commit(): { path: string; sha256: string; bytes: number; rows: number } {
    const rows = this.file.rows;
    return { ...this.file.commit(), rows };
  }

  abort(): void {
    this.file.abort();
  }
}

/** Dimension, vector columns and `sci.*` metadata of an embedding shard file. */
export function readEmbeddingLayout(path: string): { dim: number; views: string[]; metadata: Record<string, string> } {
  const schema = RecordBatchReader.from(readFileSync(path)).open().schema;
  const views = schema.fields.filter((f) => f.type instanceof FixedSizeList).map((f) => f.name);
  const metadata: Record<string, string> = {};
  for (const [k, v] of schema.metadata) if (k.startsWith('sci.') && k !== 'sci.format' && k !== 'sci.dim') metadata[k.slice(4)] = v;
  return { dim: Number(schema.metadata.get('sci.dim') ?? 0), views, metadata };
}
