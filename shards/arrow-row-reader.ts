import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type DataType, type Schema, Type } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { ShardFormatError } from './errors.js';

/*
 * Random access to single values of an Arrow IPC file without reading its
 * record batches: the footer gives each batch's place, each batch's metadata
 * gives its buffers' places, and a value is one or two small reads (an
 * Int64, or a Utf8's two offsets and then its bytes). Opening costs one read
 * per batch (its metadata, a few hundred bytes); nothing of the columns is
 * held in memory, so a 21M-passage shard set costs its batch table only.
 * Only what our writers produce is supported: uncompressed Int64 and Utf8
 * top-level columns.
 */

const MAGIC = Buffer.from('ARROW1');
/**
 * Buffers a field takes in a record batch body, in order: validity and values (Int, Float), validity,
 * offsets and bytes (Utf8), validity and then the child's (FixedSizeList: our embedding column).
 */
function bufferCount(type: DataType): number | null {
  if (type.typeId === Type.Int || type.typeId === Type.Float) return 2;
  if (type.typeId === Type.Utf8) return 3;
  if (type.typeId === Type.FixedSizeList) {
    const child = bufferCount(type.children[0]!.type);
    return child === null ? null : 1 + child;
  }
  return null;
}

interface BatchPlace {
  firstRow: number;
  rows: number;
  bodyOffset: number;
  /** Per field, its buffers' offsets within the body. */
  buffers: Array<Array<{ offset: number; length: number }>>;
}

export class ArrowRowReader {
  /** Rows in the file. */
  readonly rows: number;

  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly schema: Schema,
    private readonly batches: readonly BatchPlace[],
  ) {
    this.rows = batches.reduce((sum, b) => sum + b.rows, 0);
  }

  static open(path: string): ArrowRowReader {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const tail = readAt(fd, path, size - 10, 10);
      if (size < 22 || !tail.subarray(4).equals(MAGIC)) throw new ShardFormatError('not an Arrow IPC file (no ARROW1 trailer)', { file: path });
      const footerLength = tail.readInt32LE(0);
      if (footerLength <= 0 || footerLength > size - 18) throw new ShardFormatError(`bad Arrow footer length ${footerLength}`, { file: path });
      const footer = Footer.decode(readAt(fd, path, size - 10 - footerLength, footerLength));
      const batches: BatchPlace[] = [];
      let firstRow = 0;
      for (const block of footer.recordBatches()) {
        const meta = readAt(fd, path, block.offset, block.metaDataLength);
        // Encapsulated message: 0xFFFFFFFF continuation, int32 length, flatbuffer (pre-1.0 files lack the continuation).
        const start = meta.readUInt32LE(0) === 0xffffffff ? 8 : 4;
        const message = Message.decode(meta.subarray(start));
        if (!message.isRecordBatch()) throw new ShardFormatError('footer block is not a record batch', { file: path });
        const header = message.header();
        if (header.compression) throw new ShardFormatError('compressed Arrow record batches are not supported for row access', { file: path });
        const buffers: BatchPlace['buffers'] = [];
        let next = 0;
        for (const field of footer.schema.fields) {
          const count = bufferCount(field.type);
          if (count === null) throw new ShardFormatError(`column ${field.name}: type ${field.type} is not supported for row access`, { file: path });
          buffers.push(header.buffers.slice(next, next + count).map((b) => ({ offset: Number(b.offset), length: Number(b.length) })));
          next += count;
        }
        batches.push({ firstRow, rows: header.length, bodyOffset: block.offset + block.metaDataLength, buffers });
        firstRow += header.length;
      }
      return new ArrowRowReader(path, fd, footer.schema, batches);
    } catch (err) {
      closeSync(fd);
      if (err instanceof ShardFormatError) throw err;
      throw new ShardFormatError(`cannot read the Arrow file: ${(err as Error).message}`, { file: path, cause: err });
    }
  }

  /** The Int64 values of `column` at these row positions (0-based within the file). */
  int64At(column: string, rows: readonly number[]): bigint[] {
    const field = this.fieldIndex(column, Type.Int);
    return rows.map((row) => {
      const { batch, i } = this.locate(row);
      const values = batch.buffers[field]![1]!;
      return readAt(this.fd, this.path, batch.bodyOffset + values.offset + 8 * i, 8).readBigInt64LE(0);
    });
  }

  /** The Utf8 values of `column` at these row positions. */
  utf8At(column: string, rows: readonly number[]): string[] {
    const field = this.fieldIndex(column, Type.Utf8);
    return rows.map((row) => {
      const { batch, i } = this.locate(row);
      const [, offsets, bytes] = batch.buffers[field]!;
      const ends = readAt(this.fd, this.path, batch.bodyOffset + offsets!.offset + 4 * i, 8);
      const start = ends.readInt32LE(0);
      const end = ends.readInt32LE(4);
      if (start < 0 || end < start || end > bytes!.length)
        throw new ShardFormatError(`column ${column} row ${row}: bad offsets ${start}..${end}`, { file: this.path });
      return end === start ? '' : readAt(this.fd, this.path, batch.bodyOffset + bytes!.offset + start, end - start).toString('utf8');
    });
  }

  /** Every value of a Utf8 column, batch by batch (for id columns: no vectors read beside them). */
  *utf8Column(column: string): Generator<string[]> {
    const field = this.fieldIndex(column, Type.Utf8);
    for (const batch of this.batches) {
      const [, offsetsPlace, bytesPlace] = batch.buffers[field]!;
      const offsets = readAt(this.fd, this.path, batch.bodyOffset + offsetsPlace!.offset, 4 * (batch.rows + 1));
      const bytes = readAt(this.fd, this.path, batch.bodyOffset + bytesPlace!.offset, bytesPlace!.length);
      const values = new Array<string>(batch.rows);
      for (let i = 0; i < batch.rows; i++) values[i] = bytes.toString('utf8', offsets.readInt32LE(4 * i), offsets.readInt32LE(4 * i + 4));
      yield values;
    }
  }

  /** Every value of an Int64 column, batch by batch. */
  *int64Column(column: string): Generator<BigInt64Array> {
    const field = this.fieldIndex(column, Type.Int);
    for (const batch of this.batches) {
      const place = batch.buffers[field]![1]!;
      const bytes = readAt(this.fd, this.path, batch.bodyOffset + place.offset, 8 * batch.rows);
      yield new BigInt64Array(bytes.buffer, bytes.byteOffset, batch.rows).slice();
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private fieldIndex(column: string, type: Type): number {
    const index = this.schema.fields.findIndex((f) => f.name === column);
    if (index < 0) throw new ShardFormatError(`no column ${column} (columns: ${this.schema.fields.map((f) => f.name).join(', ')})`, { file: this.path });
    const field = this.schema.fields[index]!;
    if (field.typeId !== type || (type === Type.Int && (field.type as { bitWidth: number }).bitWidth !== 64))
      throw new ShardFormatError(`column ${column} is ${field.type}, not ${type === Type.Int ? 'Int64' : 'Utf8'}`, { file: this.path });
    return index;
  }

  private locate(row: number): { batch: BatchPlace; i: number } {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows)
      throw new ShardFormatError(`row ${row} is outside the file's ${this.rows} rows`, { file: this.path });
    let lo = 0;
    let hi = this.batches.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.batches[mid]!.firstRow <= row) lo = mid;
      else hi = mid - 1;
    }
    const batch = this.batches[lo]!;
    return { batch, i: row - batch.firstRow };
  }
}

function readAt(fd: number, path: string, position: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new ShardFormatError(`file ends before byte ${position + length}`, { file: path });
    done += n;
  }
  return out;
}

/** The `rowId` and `externalId` columns of an Arrow file (an embedding shard, a routed partition's ids), the rest left on disk. */
export function readIdColumns(path: string): { rowIds: BigInt64Array; externalIds: string[] } {
  const reader = ArrowRowReader.open(path);
  try {
    const rowIds = new BigInt64Array(reader.rows);
    let at = 0;
    for (const batch of reader.int64Column('rowId')) {
      rowIds.set(batch, at);
      at += batch.length;
    }
    const externalIds: string[] = [];
    for (const batch of reader.utf8Column('externalId')) for (const id of batch) externalIds.push(id);
    return { rowIds, externalIds };
  } finally {
    reader.close();
  }
}
