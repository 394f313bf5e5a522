import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDualView, buildDualViewIvf, FaissIndex, trainDualViewIvf } from '../../../faiss/index.js';
import { bruteForce, clusteredVectors, seededRandom } from '../../support/vectors.js';

/*
 * Dual-view IVF against a brute-force reference of the same definition:
 * centroids and lists from view A, stored vectors from view B, queries probe
 * the nprobe centroids nearest by S(q, c) and are scored against view B.
 */

const DIM = 16;
const N = 2000;
const NLIST = 12;

function twoViews() {
  const assignView = clusteredVectors(N, DIM, 20, 11, true);
  // View B: a different but related embedding (a fixed rotation-ish mix plus noise).
  const rand = seededRandom(5);
  const storedView = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < DIM; j++) storedView[i * DIM + j] = 0.7 * assignView[i * DIM + ((j + 3) % DIM)]! + 0.3 * (rand() - 0.5);
  }
  const ids = BigInt64Array.from({ length: N }, (_, i) => BigInt(500 + i));
  return { assignView, storedView, ids };
}

test('IVF-Flat with centroids and lists from one view, vectors from the other, equals brute force', async () => {
  const { assignView, storedView, ids } = twoViews();
  const { index, centroids, lists } = await buildDualViewIvf({ dim: DIM, metric: 'ip', nlist: NLIST, assignView, storedView, ids, kmeans: { seed: 3 } });
  assert.equal(index.size, N);
  assert.equal(centroids.length, NLIST * DIM);
  // Lists are the nearest centroid in view A.
  const nearest = bruteForce(centroids, assignView, DIM, 1, 'ip');
  nearest.forEach((top, i) => assert.equal(Number(lists[i]), top[0]!.id));

  const queries = clusteredVectors(40, DIM, 20, 77, true);
  const nprobe = 3;
  const got = await index.search(queries, 10, { nprobe });
  const probes = bruteForce(centroids, queries, DIM, nprobe, 'ip').map((top) => new Set(top.map((c) => c.id)));
  const expected = bruteForce(storedView, queries, DIM, 10, 'ip', (q) =>
    Array.from({ length: N }, (_, i) => i).filter((i) => probes[q]!.has(Number(lists[i]))),
  );
  for (let q = 0; q < 40; q++) {
    for (let j = 0; j < 10; j++) {
      const want = expected[q]![j];
      if (!want) {
        assert.equal(got.labels[q * 10 + j], -1n);
        continue;
      }
      assert.ok(Math.abs(got.distances[q * 10 + j]! - want.score) < 1e-4, `query ${q} rank ${j}: ${got.distances[q * 10 + j]} vs ${want.score}`);
      if (j < 9 && Math.abs(want.score - (expected[q]![j + 1]?.score ?? -Infinity)) > 1e-5) assert.equal(got.labels[q * 10 + j], BigInt(500 + want.id));
    }
  }
  // The dual view differs from a standard IVF built on view B alone.
  const standard = FaissIndex.create({ dim: DIM, factory: `IVF${NLIST},Flat`, metric: 'ip' });
  await standard.train(storedView);
  await standard.add(storedView, ids);
  const other = await standard.search(queries, 10, { nprobe });
  assert.notDeepEqual(other.labels, got.labels);
});

test('IVF-PQ dual view: results only from probed lists; with every list probed, estimates track exact distances', async () => {
  const { assignView, storedView, ids } = twoViews();
  const { index, centroids, lists } = await buildDualViewIvf({
    dim: DIM,
    metric: 'l2',
    nlist: NLIST,
    assignView,
    storedView,
    ids,
    pq: { m: 4, nbits: 6 },
    kmeans: { seed: 3 },
  });
  assert.equal(index.info.kind, 'ivfpq');
  const queries = clusteredVectors(30, DIM, 20, 78, true);
  const r = await index.search(queries, 5, { nprobe: 2 });
  const probes = bruteForce(centroids, queries, DIM, 2, 'l2').map((top) => new Set(top.map((c) => c.id)));
  for (let q = 0; q < 30; q++) {
    for (let j = 0; j < 5; j++) {
      const id = r.labels[q * 5 + j]!;
      if (id < 0n) continue;
      assert.ok(probes[q]!.has(Number(lists[Number(id) - 500])), `query ${q}: id ${id} from an unprobed list`);
    }
  }
  // With every list probed, PQ estimates track true distances to view B.
  const all = await index.search(queries, 1, { nprobe: NLIST });
  const exact = bruteForce(storedView, queries, DIM, 1, 'l2');
  let close = 0;
  for (let q = 0; q < 30; q++) if (Math.abs(all.distances[q]! - exact[q]![0]!.score) < 0.2) close += 1;
  assert.ok(close >= 20, `${close}/30 PQ estimates near the exact distance`);
});

test('residual PQ: codes encode x − centroid of its list, far finer than PQ of x itself', async () => {
  // Tight clusters far apart, with twice as many lists as clusters so no list straddles two: a
  // residual is small noise, while x itself is mostly its centre. With 2 bits per sub-quantizer
  // (4 codewords), PQ of raw vectors cannot tell 24 centres apart; residual PQ only codes the
  // noise. Codes of raw vectors (a non-residual IVF-PQ) would err like plain PQ.
  const rand = seededRandom(21);
  const centres = Float32Array.from({ length: 24 * DIM }, () => (rand() * 2 - 1) * 10);
  const x = new Float32Array(N * DIM);
  for (let i = 0; i < N; i++) for (let j = 0; j < DIM; j++) x[i * DIM + j] = centres[(i % 24) * DIM + j]! + (rand() - 0.5) * 0.2;
  const ids = BigInt64Array.from({ length: N }, (_, i) => BigInt(i));
  const pq = { m: 4, nbits: 2 };
  const { index } = await buildDualViewIvf({ dim: DIM, metric: 'l2', nlist: 48, assignView: x, storedView: x, ids, pq, kmeans: { seed: 4 } });
  const build = async (factory: string) => {
    const built = FaissIndex.create({ dim: DIM, factory, metric: 'l2' });
    await built.train(x);
    await built.add(x, ids);
    return built;
  };
  // The distance a code estimates for the query's own row is that row's reconstruction error.
  const selfError = async (idx: FaissIndex, nprobe?: number) => {
    const r = await idx.search(x.subarray(0, 50 * DIM), 1, nprobe ? { nprobe } : {});
    return r.distances.reduce((sum, d) => sum + d, 0) / 50;
  };
  const dual = await selfError(index, 48);
  const raw = await selfError(await build('PQ4x2'));
  // With one view, dual-view IVF-PQ is faiss's own (residual) IVF-PQ.
  const faissResidual = await selfError(await build('IVF48,PQ4x2'), 48);
  assert.ok(dual < 0.2, `residual codes reconstruct within ${dual}`);
  assert.ok(raw > 100 * dual, `raw-vector codes err ${raw}, residual codes ${dual}`);
  assert.ok(Math.abs(dual - faissResidual) < 0.05, `dual-view ${dual} vs faiss IVF-PQ ${faissResidual}`);
});

test('mismatched views are a typed error', async () => {
  const { assignView, storedView, ids } = twoViews();
  await assert.rejects(
    buildDualViewIvf({ dim: DIM, metric: 'ip', nlist: NLIST, assignView, storedView: storedView.subarray(DIM), ids }),
    /the two views must both be n × 16/,
  );
  await assert.rejects(buildDualViewIvf({ dim: DIM, metric: 'ip', nlist: NLIST, assignView, storedView, ids: ids.subarray(1) }), /1999 ids for 2000 items/);
});

test('a shared dual-view quantizer: two shards filled from one trained index search like one index holding both', async () => {
  const { assignView, storedView, ids } = twoViews();
  for (const pq of [null, { m: 4 }]) {
    // Trained on a sample (every other row) of both views, stored empty.
    const sample = (view: Float32Array) => Float32Array.from({ length: (N / 2) * DIM }, (_, i) => view[Math.floor(i / DIM) * 2 * DIM + (i % DIM)]!);
    const trained = await trainDualViewIvf({ dim: DIM, metric: 'ip', nlist: NLIST, assignView: sample(assignView), storedView: sample(storedView), pq });
    assert.equal(trained.index.size, 0);
    const copy = () => FaissIndex.fromBuffer(trained.index.toBuffer());
    const fill = async (from: number, to: number) => {
      const index = copy();
      const part = (view: Float32Array) => view.subarray(from * DIM, to * DIM);
      await addDualView(index, {
        centroids: trained.centroids,
        metric: 'ip',
        assignView: part(assignView),
        storedView: part(storedView),
        ids: ids.subarray(from, to),
      });
      return index;
    };
    const global = await fill(0, N);
    const shards = [await fill(0, 700), await fill(700, N)];
    const queries = clusteredVectors(50, DIM, 20, 78, true);
    const k = 10;
    const expected = await global.search(queries, k, { nprobe: 3 });
    const parts = await Promise.all(shards.map((s) => s.search(queries, k, { nprobe: 3 })));
    for (let q = 0; q < 50; q++) {
      const merged = parts
        .flatMap((r) => Array.from({ length: k }, (_, j) => ({ id: r.labels[q * k + j]!, score: r.distances[q * k + j]! })))
        .filter((h) => h.id >= 0n)
        .sort((a, b) => b.score - a.score)
        .slice(0, k);
      assert.deepEqual(
        merged.map((h) => h.score.toFixed(5)),
        Array.from(expected.distances.subarray(q * k, q * k + k), (d) => d.toFixed(5)),
        `${pq ? 'IVF-PQ' : 'IVF-Flat'} query ${q}`,
      );
    }
    // Centroids of a different count are refused.
    await assert.rejects(
      addDualView(copy(), { centroids: trained.centroids.subarray(DIM), metric: 'ip', assignView, storedView, ids }),
      /centroids for an index with 12 lists/,
    );
  }
});
