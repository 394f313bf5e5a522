import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGraphFactory, parseIvfFactory } from '../../../faiss/index.js';
import { JobSpecSchema } from '../../../jobs/index.js';

/* Index parameters from factory strings are parsed in faiss/factory.ts only; the job spec, the sweeps and the group stage ask it. */

test('factory strings: IVF layers and graph indexes, with or without IDMap and spaces', () => {
  assert.deepEqual(parseIvfFactory('IVF256,Flat'), { nlist: 256, pq: null });
  assert.deepEqual(parseIvfFactory('IVF64, PQ16x4'), { nlist: 64, pq: { m: 16, nbits: 4 } });
  assert.equal(parseIvfFactory('HNSW32,Flat'), null);
  for (const graph of ['HNSW32', 'HNSW32,Flat', 'IDMap,HNSW16,Flat', 'HNSW 8, Flat']) assert.ok(isGraphFactory(graph), graph);
  for (const other of ['Flat', 'IVF64,Flat', 'PQ8', 'LSH', 'HNSW', 'HNSWx,Flat']) assert.ok(!isGraphFactory(other), other);
});

test('a dual-view index spec is refused unless its factory is IVF (the parser the indexes are built with decides)', () => {
  const spec = (factory: string) => ({ kind: 'index', input: '/e', output: '/o', indexes: [{ name: 'ci', factory, metric: 'ip', dualView: true }] });
  assert.ok(JobSpecSchema.safeParse(spec('IVF64,PQ8')).success);
  const refused = JobSpecSchema.safeParse(spec('HNSW32,Flat'));
  assert.ok(!refused.success && /a dual-view index must be IVF/.test(refused.error.issues[0]!.message));
});
