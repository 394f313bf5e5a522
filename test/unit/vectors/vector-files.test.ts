import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Field, FixedSizeList, Float32, Int64, makeData, RecordBatch, Schema, Struct, tableToIPC, Table } from 'apache-arrow';
import { readIvecs, readVectors, VectorFileError, writeFvecs, writeNpy } from '../../../vectors/index.js';
import { pythonFaissAvailable, SYSTEM_PYTHON } from '../../../bench/python-faiss.js';
import { tempDir } from '../../support/paths.js';

const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);

test('.fvecs and .npy round trip', (t) => {
  const dir = tempDir(t);
  writeFvecs(join(dir, 'a.fvecs'), data, 4);
  writeNpy(join(dir, 'a.npy'), data, 4);
  for (const file of ['a.fvecs', 'a.npy']) {
    const v = readVectors(join(dir, file));
    assert.deepEqual([v.dim, v.count, v.ids], [4, 3, null]);
    assert.deepEqual(v.data, data);
  }
});

test('.npy written by numpy (float64 too) reads back', { skip: pythonFaissAvailable() ? false : 'numpy (python3-numpy) not installed' }, (t) => {
  const dir = tempDir(t);
  const script = `import numpy as np\nnp.save("${join(dir, 'f8.npy')}", np.arange(12, dtype=np.float64).reshape(3, 4) / 4)\nnp.save("${join(dir, 'f4.npy')}", np.arange(6, dtype=np.float32).reshape(2, 3))\n`;
  assert.equal(spawnSync(SYSTEM_PYTHON, ['-I', '-c', script]).status, 0);
  assert.deepEqual(
    readVectors(join(dir, 'f8.npy')).data,
    Float32Array.from({ length: 12 }, (_, i) => i / 4),
  );
  const f4 = readVectors(join(dir, 'f4.npy'));
  assert.deepEqual([f4.count, f4.dim], [2, 3]);
});

test('Arrow embedding shards: FixedSizeList<Float32> column and rowId', (t) => {
  const dir = tempDir(t);
  const schema = new Schema([
    new Field('rowId', new Int64(), false),
    new Field('embedding', new FixedSizeList(4, new Field('item', new Float32(), false)), false),
  ]);
  const ids = makeData({ type: new Int64(), length: 3, nullCount: 0, data: BigInt64Array.from([10n, 11n, 12n]) });
  const values = makeData({ type: new Float32(), length: 12, nullCount: 0, data });
  const emb = makeData({ type: new FixedSizeList(4, new Field('item', new Float32(), false)), length: 3, nullCount: 0, child: values });
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 3, nullCount: 0, children: [ids, emb] }));
  writeFileSync(join(dir, 'e.arrow'), tableToIPC(new Table([batch]), 'file'));
  const v = readVectors(join(dir, 'e.arrow'));
  assert.deepEqual([v.dim, v.count], [4, 3]);
  assert.deepEqual(v.data, data);
  assert.deepEqual(v.ids, BigInt64Array.from([10n, 11n, 12n]));
  assert.throws(
    () => readVectors(join(dir, 'e.arrow'), { column: 'nope' }),
    (e: unknown) => e instanceof VectorFileError && e.field === 'nope',
  );
});

test('broken files are VectorFileErrors naming the file', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bad.fvecs'), Buffer.from([4, 0, 0, 0, 1, 2, 3]));
  assert.throws(
    () => readVectors(join(dir, 'bad.fvecs')),
    (e: unknown) => e instanceof VectorFileError && e.file === join(dir, 'bad.fvecs') && /not a multiple of the row size/.test(e.message),
  );
  writeFileSync(join(dir, 'bad.npy'), 'hello');
  assert.throws(() => readVectors(join(dir, 'bad.npy')), /bad magic/);
  assert.throws(() => readVectors(join(dir, 'x.csv')), /unsupported vector file type/);
  assert.throws(() => readVectors(join(dir, 'missing.fvecs')), /cannot read/);
  writeFvecs(join(dir, 'i.ivecs'), new Float32Array(new Int32Array([1, 2, 3, 4]).buffer), 2);
  assert.deepEqual(readIvecs(join(dir, 'i.ivecs')).data, new Int32Array([1, 2, 3, 4]));
});
