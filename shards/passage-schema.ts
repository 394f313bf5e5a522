import { Field, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';

/** Format tag in every passage shard's schema metadata and manifest. */
export const PASSAGE_FORMAT = 'sci-cluster/passages@1';

/**
 * Columns of a passage shard. `rowId` is the global integer id Faiss stores;
 * `externalId` is the corpus's own id (DPR `id`, BEIR `_id`, WordNet synset).
 */
export function passageSchema(metadata: Record<string, string> = {}): Schema {
  return new Schema(
    [
      new Field('rowId', new Int64(), false),
      new Field('externalId', new Utf8(), false),
      new Field('title', new Utf8(), false),
      new Field('text', new Utf8(), false),
    ],
    new Map(Object.entries({ 'sci.format': PASSAGE_FORMAT, ...metadata })),
  );
}

export interface PassageRow {
  externalId: string;
  title: string;
  text: string;
}

/** Accumulates rows and builds one Arrow record batch at a time. */
export class PassageBatchBuilder {
  private readonly schema: Schema;
  private rowIds: number[] = [];
  private externalIds: string[] = [];
  private titles: string[] = [];
  private texts: string[] = [];

  constructor(schema: Schema) {
    this.schema = schema;
  }

  get length(): number {
    return this.rowIds.length;
  }

  push(rowId: number, row: PassageRow): void {
    this.rowIds.push(rowId);
    this.externalIds.push(row.externalId);
    this.titles.push(row.title);
    this.texts.push(row.text);
  }

  /** Returns the batch of everything pushed so far and starts a new one. */
  flush(): RecordBatch {
    const n = this.rowIds.length;
    const ids = BigInt64Array.from(this.rowIds, (v) => BigInt(v));
    const children = [
      makeData({ type: new Int64(), length: n, nullCount: 0, data: ids }),
      utf8Data(this.externalIds),
      utf8Data(this.titles),
      utf8Data(this.texts),
    ];
    const data = makeData({ type: new Struct(this.schema.fields), length: n, nullCount: 0, children });
    this.rowIds = [];
    this.externalIds = [];
    this.titles = [];
    this.texts = [];
    return new RecordBatch(this.schema, data);
  }
}

/** Builds a Utf8 column in two passes (sizes, then bytes); much faster than vectorFromArray. */
function utf8Data(values: readonly string[]) {
  const offsets = new Int32Array(values.length + 1);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += Buffer.byteLength(values[i]!, 'utf8');
    offsets[i + 1] = total;
  }
  const bytes = Buffer.allocUnsafe(total);
  for (let i = 0; i < values.length; i++) bytes.write(values[i]!, offsets[i]!, 'utf8');
  return makeData({ type: new Utf8(), length: values.length, nullCount: 0, valueOffsets: offsets, data: bytes });
}
