import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseServingNprobe, FaissIndex, measureNprobeCurve, nprobeGrid } from '../../../faiss/index.js';
import { seededRandom } from '../../../common/index.js';

const curve = (queries: number, overlaps: number[]) => ({ queries, k: 10, points: overlaps.map((overlap, i) => ({ nprobe: 2 ** i, overlap })) });

test('serving nprobe: the pooled curve (weighted by queries), the smallest nprobe reaching the target', () => {
  assert.deepEqual(nprobeGrid(64), [1, 2, 4, 8, 16, 32, 64]);
  assert.deepEqual(nprobeGrid(48), [1, 2, 4, 8, 16, 32, 48]);
  // Pooled: (0.5·100 + 0.8·300) / 400 = 0.725 at 1; (0.85·100 + 0.95·300) / 400 = 0.925 at 2.
  const chosen = chooseServingNprobe([curve(100, [0.5, 0.85, 1]), curve(300, [0.8, 0.95, 1])], 0.9);
  assert.equal(chosen.nprobe, 2);
  assert.equal(chosen.queries, 400);
  assert.ok(Math.abs(chosen.points[0]!.overlap - 0.725) < 1e-12 && Math.abs(chosen.reached - 0.925) < 1e-12);
  // Codes that cap the overlap at 0.3 (IVF-PQ): 0.9 of the cap, 0.27, not a full scan.
  assert.equal(chooseServingNprobe([curve(10, [0.1, 0.2, 0.28, 0.3, 0.3])], 0.9).nprobe, 4);
});

test('the measured curve rises to exact search at nprobe = nlist (IVF-Flat), each sampled row held out', async () => {
  const dim = 16;
  const n = 3000;
  const random = seededRandom(5);
  const data = Float32Array.from({ length: n * dim }, () => random() * 2 - 1);
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(1000 + i));
  const index = FaissIndex.create({ dim, factory: 'IVF32,Flat', metric: 'l2' });
  await index.train(data);
  await index.add(data, ids);
  const measured = await measureNprobeCurve(index, { data, ids, dim }, data, 'l2', { queriesPerShard: 100, k: 10, seed: 1, shardId: 0 });
  assert.equal(measured.queries, 100);
  assert.deepEqual(
    measured.points.map((p) => p.nprobe),
    [1, 2, 4, 8, 16, 32],
  );
  for (let i = 1; i < measured.points.length; i++)
    assert.ok(measured.points[i]!.overlap >= measured.points[i - 1]!.overlap - 1e-9, 'more lists, no less overlap');
  assert.equal(measured.points.at(-1)!.overlap, 1, 'every list scanned is exact search');
  assert.ok(measured.points[0]!.overlap < 0.9, `one list of 32 is not exact (${measured.points[0]!.overlap})`);
  // Held out: a row always finds itself in its own list, so with k = 1 nprobe 1 would score 1 if it counted.
  const nearest = await measureNprobeCurve(index, { data, ids, dim }, data, 'l2', { queriesPerShard: 100, k: 1, seed: 1, shardId: 0 });
  assert.ok(nearest.points[0]!.overlap < 0.9, `the nearest other row at nprobe 1: ${nearest.points[0]!.overlap}`);
});
