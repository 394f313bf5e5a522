import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaissIndex, FaissInvalidArgumentError, FaissNotTrainedError, FaissError, kmeans, resolveFactory } from '../../../faiss/index.js';
import { tempDir } from '../../support/paths.js';
import { clusteredVectors } from '../../support/vectors.js';

const DIM = 32;
const base = clusteredVectors(3000, DIM, 30, 7, true);
const queries = clusteredVectors(50, DIM, 30, 99, true);

async function built(factory: string, metric: 'ip' | 'l2' = 'ip'): Promise<FaissIndex> {
  const index = FaissIndex.create({ dim: DIM, factory, metric });
  if (!index.info.isTrained) await index.train(base);
  const ids = BigInt64Array.from({ length: 3000 }, (_, i) => BigInt(1_000_000 + i * 3));
  await index.add(base, ids);
  return index;
}

test('factory strings resolve to IDMap-wrapped types and fast PQ training', () => {
  assert.deepEqual(resolveFactory('Flat', 'ip', 32), { description: 'IDMap,Flat', kind: 'flat' });
  assert.deepEqual(resolveFactory('HNSW32', 'ip', 32), { description: 'IDMap,HNSW32,Flat', kind: 'hnsw' });
  assert.deepEqual(resolveFactory('IVF100,Flat', 'l2', 32), { description: 'IVF100,Flat', kind: 'ivf' });
  assert.deepEqual(resolveFactory('IVF100,PQ8', 'ip', 32), { description: 'IVF100,PQ8np', kind: 'ivfpq' });
  assert.deepEqual(resolveFactory('PQ8x4', 'l2', 32), { description: 'IDMap,PQ8x4np', kind: 'pq' });
  assert.deepEqual(resolveFactory('LSH', 'l2', 32), { description: 'IDMap,LSH32', kind: 'lsh' });
  assert.throws(() => resolveFactory('LSH', 'ip', 32), FaissInvalidArgumentError);
  assert.throws(() => resolveFactory('PQ5', 'ip', 32), /must divide the dimension 32/);
  assert.throws(() => resolveFactory('Bogus12', 'ip', 32), /expected Flat/);
});

test('ids are the caller’s; results of every type come back as global ids', async () => {
  for (const factory of ['Flat', 'IVF16,Flat', 'IVF16,PQ8', 'HNSW16,Flat', 'PQ8']) {
    const index = await built(factory);
    const r = await index.search(queries, 5, { nprobe: 16, efSearch: 64 });
    assert.equal(r.nq, 50);
    for (const id of r.labels) assert.ok(id >= 1_000_000n && (id - 1_000_000n) % 3n === 0n, `${factory}: ${id}`);
    assert.equal(r.higherIsBetter, true);
  }
});

test('write / read a file and a buffer: identical results', async (t) => {
  const dir = tempDir(t);
  for (const factory of ['IVF16,PQ8', 'HNSW16,Flat']) {
    const index = await built(factory);
    const before = await index.search(queries, 10, { nprobe: 4, efSearch: 32 });
    const path = join(dir, `${factory.replace(/,/g, '_')}.index`);
    await index.save(path);
    const loaded = await FaissIndex.load(path);
    const fromBuffer = FaissIndex.fromBuffer(index.toBuffer());
    for (const other of [loaded, fromBuffer]) {
      const after = await other.search(queries, 10, { nprobe: 4, efSearch: 32 });
      assert.deepEqual(after.labels, before.labels);
      assert.deepEqual(after.distances, before.distances);
    }
    assert.equal(loaded.memoryBytes(), index.toBuffer().length);
  }
});

test('concurrent searches with different parameters equal sequential ones', async () => {
  const index = await built('HNSW16,Flat');
  const efs = [8, 16, 32, 64, 128, 8, 16, 32];
  const sequential: Awaited<ReturnType<FaissIndex['search']>>[] = [];
  for (const efSearch of efs) sequential.push(await index.search(queries, 10, { efSearch }));
  const concurrent = await Promise.all(efs.map((efSearch) => index.search(queries, 10, { efSearch })));
  concurrent.forEach((r, i) => {
    assert.deepEqual(r.labels, sequential[i]!.labels);
    assert.equal(r.counters.ndis, sequential[i]!.counters.ndis);
  });
  assert.ok(sequential[4]!.counters.ndis > sequential[0]!.counters.ndis);
});

test('bad input gets typed errors, never a crash', async (t) => {
  const flat = await built('Flat');
  await assert.rejects(
    flat.search(new Float32Array(DIM + 1), 3),
    (e: unknown) => e instanceof FaissInvalidArgumentError && /not a multiple of the dimension 32/.test(e.message),
  );
  const nan = queries.slice(0, DIM);
  nan[5] = Number.NaN;
  await assert.rejects(flat.search(nan, 3), (e: unknown) => e instanceof FaissInvalidArgumentError && /row 0 has a NaN/.test(e.message));
  await assert.rejects(flat.add(nan), FaissInvalidArgumentError);
  await assert.rejects(flat.search(queries, 0), FaissInvalidArgumentError);
  await assert.rejects(flat.search(queries, 3, { nprobe: -1 }), FaissInvalidArgumentError);
  const untrained = FaissIndex.create({ dim: DIM, factory: 'IVF16,Flat', metric: 'ip' });
  await assert.rejects(untrained.add(base), FaissNotTrainedError);
  await assert.rejects(untrained.search(queries, 3), FaissNotTrainedError);
  await assert.rejects(untrained.train(new Float32Array(0)), FaissInvalidArgumentError);
  assert.throws(() => FaissIndex.create({ dim: 0, factory: 'Flat', metric: 'ip' }), FaissInvalidArgumentError);
  assert.throws(() => FaissIndex.fromBuffer(Buffer.from('not an index')), FaissError);
  await assert.rejects(FaissIndex.load(join(tempDir(t), 'missing.index')), FaissError);
  // k larger than the index: the missing places are -1, not a crash.
  const small = FaissIndex.create({ dim: DIM, factory: 'HNSW8,Flat', metric: 'ip' });
  await small.add(base.subarray(0, 3 * DIM));
  const r = await small.search(queries.subarray(0, DIM), 5);
  assert.deepEqual([...r.labels].map(Number).sort(), [-1, -1, 0, 1, 2]);
  const empty = await FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'l2' }).search(queries.subarray(0, DIM), 2);
  assert.deepEqual([...empty.labels], [-1n, -1n]);
});

test('k-means converges to a fixed point: each centroid is the mean of its points, the objective is their squared error', async () => {
  // Lloyd's algorithm from a random start finds a local optimum, not always the global one, so the
  // test checks what every run must satisfy: k = 1 gives the mean; for k = 4 every centroid is the
  // mean of the points nearest to it and the objective is the sum of squared distances to them.
  const x = clusteredVectors(2000, 8, 4, 3);
  const all = { maxPointsPerCentroid: 4000 };
  const mean = new Float64Array(8);
  for (let i = 0; i < 2000; i++) for (let j = 0; j < 8; j++) mean[j]! += x[i * 8 + j]! / 2000;
  const one = await kmeans(x, 8, 1, { niter: 5, seed: 5, ...all });
  one.centroids.forEach((c, j) => assert.ok(Math.abs(c - mean[j]!) < 1e-4, `k = 1: centroid ${j} ${c} vs mean ${mean[j]}`));
  const { centroids, objective } = await kmeans(x, 8, 4, { niter: 25, seed: 5, ...all });
  assert.equal(centroids.length, 4 * 8);
  const sums = Array.from({ length: 4 }, () => new Float64Array(8));
  const counts = new Array<number>(4).fill(0);
  let squaredError = 0;
  for (let i = 0; i < 2000; i++) {
    const d = (k: number) => Array.from({ length: 8 }, (_, j) => (x[i * 8 + j]! - centroids[k * 8 + j]!) ** 2).reduce((a, b) => a + b, 0);
    const nearest = [0, 1, 2, 3].reduce((best, k) => (d(k) < d(best) ? k : best), 0);
    squaredError += d(nearest);
    counts[nearest]! += 1;
    for (let j = 0; j < 8; j++) sums[nearest]![j]! += x[i * 8 + j]!;
  }
  for (let k = 0; k < 4; k++) {
    assert.ok(counts[k]! > 0, `centroid ${k} has points`);
    for (let j = 0; j < 8; j++) assert.ok(Math.abs(sums[k]![j]! / counts[k]! - centroids[k * 8 + j]!) < 1e-3, `centroid ${k} is the mean of its points`);
  }
  assert.ok(Math.abs(objective - squaredError) / squaredError < 1e-3, `objective ${objective} vs squared error ${squaredError}`);
  await assert.rejects(kmeans(x.subarray(0, 16), 8, 4), /at least k = 4 vectors/);
});

test('search limits are enforced in the addon itself, before anything is allocated', async () => {
  const index = await built('HNSW16,Flat');
  // Through the typed front and straight at the native handle (a caller that skips the front).
  await assert.rejects(
    index.search(queries, 5, { efSearch: 2147483647 }),
    (err: FaissError) => err.code === 'FAISS_INVALID_ARGUMENT' && err.field === 'efSearch',
  );
  await assert.rejects(async () => index.handle.search(queries, 5, 0, 2147483647, 0, null), /efSearch must be from 1 to 16384/);
  await assert.rejects(async () => index.handle.search(queries, 5, 1 << 20, 0, 0, null), /nprobe must be from 1 to 65536/);
  await assert.rejects(async () => index.handle.search(queries, 1e9, 0, 0, 0, null), /k must be from 1 to 100000/);
  await assert.rejects(async () => index.handle.search(new Float32Array(DIM * 2000), 10_000, 0, 0, 0, null), /queries x k must be at most/);
});

test('a search stops at its deadline or when its signal aborts, for graph, inverted-list and exhaustive indexes', async () => {
  const many = clusteredVectors(800, DIM, 30, 5, true);
  for (const factory of ['HNSW16,Flat', 'IVF16,Flat', 'Flat']) {
    const index = await built(factory);
    const params = { efSearch: 2048, nprobe: 16 };
    // Unbounded, the same search completes.
    const full = await index.search(many, 100, params);
    assert.equal(full.nq, 800);
    await assert.rejects(index.search(many, 100, params, { timeoutMs: 0.001 }), (err: FaissError) => err.code === 'DEADLINE_EXCEEDED', factory);
    const controller = new AbortController();
    const pending = index.search(many, 100, params, { signal: controller.signal });
    controller.abort(new Error('caller went away'));
    await assert.rejects(
      pending,
      (err: Error & { code?: string }) => err.code === 'CANCELLED' || err.name === 'AbortError' || /caller went away/.test(err.message),
      factory,
    );
  }
});
