import { readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { DataType, FixedSizeList, Precision, tableFromIPC, type Table } from 'apache-arrow';
import { MissingVectorColumnError, VectorFileError } from './errors.js';
import { fromHalf } from './half.js';

/*
 * Vector files in the field's formats: `.fvecs` / `.ivecs` (TEXMEX: each row
 * is an int32 dimension followed by that many float32 / int32 values),
 * `.npy` (NumPy 2-D float32 or float64, C order), and our Arrow embedding
 * shards (a FixedSizeList<Float32> or <Float16> column plus an optional int64 `rowId`).
 */

export interface VectorSet {
  dim: number;
  count: number;
  /** Row-major count × dim. */
  data: Float32Array;
  /** Global ids stored with the vectors (Arrow shards); null = 0..count-1. */
  ids: BigInt64Array | null;
}

export function readVectors(path: string, options: { column?: string } = {}): VectorSet {
  const ext = extname(path).toLowerCase();
  if (ext === '.fvecs') return { ...readVecs(path, 'float'), ids: null };
  if (ext === '.npy') return readNpy(path);
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return readArrowVectors(path, options.column ?? null);
  throw new VectorFileError(`unsupported vector file type "${ext}" (expected .fvecs, .npy or .arrow)`, { file: path });
}

export function readIvecs(path: string): { dim: number; count: number; data: Int32Array } {
  const { dim, count, data } = readVecs(path, 'int');
  return { dim, count, data: new Int32Array(data.buffer, data.byteOffset, data.length) };
}

function readVecs(path: string, kind: 'float' | 'int'): { dim: number; count: number; data: Float32Array } {
  const bytes = readFile(path);
  if (bytes.length < 4) throw new VectorFileError('file too short for a .vecs header', { file: path });
  const dim = bytes.readInt32LE(0);
  if (dim <= 0 || dim > 1 << 20) throw new VectorFileError(`implausible dimension ${dim} in the first row header`, { file: path });
  const rowBytes = 4 + dim * 4;
  if (bytes.length % rowBytes !== 0)
    throw new VectorFileError(`size ${bytes.length} is not a multiple of the row size ${rowBytes} (dim ${dim})`, { file: path });
  const count = bytes.length / rowBytes;
  const data = new Float32Array(count * dim);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) {
    const rowDim = view.getInt32(i * rowBytes, true);
    if (rowDim !== dim) throw new VectorFileError(`row ${i} has dimension ${rowDim}, expected ${dim}`, { file: path, line: i + 1 });
    const start = i * rowBytes + 4;
    if (kind === 'float') for (let j = 0; j < dim; j++) data[i * dim + j] = view.getFloat32(start + j * 4, true);
    else {
      const ints = new Int32Array(data.buffer, 0, data.length);
      for (let j = 0; j < dim; j++) ints[i * dim + j] = view.getInt32(start + j * 4, true);
    }
  }
  return { dim, count, data };
}

export function writeFvecs(path: string, data: Float32Array, dim: number): void {
  const count = data.length / dim;
  const out = Buffer.alloc(count * (4 + dim * 4));
  for (let i = 0; i < count; i++) {
    const offset = i * (4 + dim * 4);
    out.writeInt32LE(dim, offset);
    Buffer.from(data.buffer, data.byteOffset + i * dim * 4, dim * 4).copy(out, offset + 4);
  }
  writeFileSync(path, out);
}

export function readNpy(path: string): VectorSet {
  const bytes = readFile(path);
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new VectorFileError('not a .npy file (bad magic)', { file: path });
  const major = bytes[6]!;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)?.[1]
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!descr || !fortran || !shape) throw new VectorFileError(`cannot parse .npy header ${header.trim()}`, { file: path });
  if (fortran === 'True') throw new VectorFileError('Fortran-order arrays are not supported; save with np.ascontiguousarray', { file: path });
  if (shape.length !== 2) throw new VectorFileError(`expected a 2-D array, got shape (${shape.join(', ')})`, { file: path });
  const [count, dim] = shape as [number, number];
  const body = bytes.subarray(headerStart + headerLength);
  const data = new Float32Array(count * dim);
  if (descr === '<f4') {
    if (body.length < data.length * 4) throw new VectorFileError('file is truncated', { file: path });
    Buffer.from(data.buffer).set(body.subarray(0, data.length * 4));
  } else if (descr === '<f8') {
    if (body.length < data.length * 8) throw new VectorFileError('file is truncated', { file: path });
    for (let i = 0; i < data.length; i++) data[i] = body.readDoubleLE(i * 8);
  } else {
    throw new VectorFileError(`unsupported dtype ${descr} (expected <f4 or <f8)`, { file: path });
  }
  return { dim, count, data, ids: null };
}

export function writeNpy(path: string, data: Float32Array, dim: number): void {
  const count = data.length / dim;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${count}, ${dim}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

/** `column`: a name, names to try in order (the first present is read), or null for the first vector column. */
export function readArrowVectors(path: string, column: string | readonly string[] | null): VectorSet {
  let table: Table;
  try {
    table = tableFromIPC(readFile(path));
  } catch (err) {
    throw new VectorFileError(`not an Arrow IPC file: ${(err as Error).message}`, { file: path, cause: err });
  }
  const names = column === null ? null : typeof column === 'string' ? [column] : column;
  const field =
    names === null
      ? table.schema.fields.find((f) => f.type instanceof FixedSizeList)
      : names.map((n) => table.schema.fields.find((f) => f.name === n)).find((f) => f !== undefined);
  if (!field)
    throw new MissingVectorColumnError(names ? `no column ${names.map((n) => `"${n}"`).join(' or ')}` : 'no FixedSizeList<Float32> column', {
      file: path,
      field: names?.[0] ?? 'embedding',
    });
  const item = field.type instanceof FixedSizeList ? field.type.children[0]?.type : undefined;
  if (!(field.type instanceof FixedSizeList) || !DataType.isFloat(item) || (item.precision !== Precision.SINGLE && item.precision !== Precision.HALF)) {
    throw new VectorFileError(`column "${field.name}" is not FixedSizeList<Float32> or FixedSizeList<Float16>`, { file: path, field: field.name });
  }
  // Half-precision columns (an encode job's dtype f16) are widened to float32 here, where every reader gets its vectors.
  const half = item.precision === Precision.HALF;
  const dim = (field.type as FixedSizeList).listSize;
  const count = table.numRows;
  const data = new Float32Array(count * dim);
  let offset = 0;
  for (const chunk of table.getChild(field.name)!.data) {
    const start = chunk.offset * dim;
    const values = chunk.children[0]!.values as Float32Array | Uint16Array;
    const slice = values.subarray(start, start + chunk.length * dim);
    data.set(half ? fromHalf(slice as Uint16Array) : (slice as Float32Array), offset);
    offset += chunk.length * dim;
  }
  const idColumn = table.getChild('rowId');
  const ids = idColumn ? BigInt64Array.from(idColumn.toArray() as BigInt64Array) : null;
  return { dim, count, data, ids };
}

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new VectorFileError(`cannot read: ${(err as Error).message}`, { file: path, cause: err });
  }
}
