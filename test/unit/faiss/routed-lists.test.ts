import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaissIndex } from '../../../faiss/index.js';
import { clusteredVectors } from '../../support/vectors.js';

/*
 * The native pieces of routed IVF search: one trained IVF split by inverted
 * list into partitions (copyListsFrom), each searched on the lists the
 * quantizer assigned (assign + searchLists); the partitions' merged top k
 * equals the whole index's search at the same nprobe, scores and ids.
 */

const DIM = 16;
const N = 3000;

async function trainedAndFilled(factory: string, metric: 'ip' | 'l2') {
  const data = clusteredVectors(N, DIM, 25, 3, true);
  const trained = FaissIndex.create({ dim: DIM, factory, metric });
  await trained.train(data);
  const whole = FaissIndex.fromBuffer(trained.toBuffer());
  await whole.add(
    data,
    BigInt64Array.from({ length: N }, (_, i) => BigInt(1000 + i)),
  );
  return { trained, whole };
}

for (const [factory, metric] of [
  ['IVF32,Flat', 'ip'],
  ['IVF32,PQ4', 'l2'],
  ['IVF32,PQ4', 'ip'],
] as const) {
  test(`${factory} (${metric}) split by list into 3 partitions searches like the whole index`, async () => {
    const { trained, whole } = await trainedAndFilled(factory, metric);
    const sizes = whole.listSizes();
    assert.equal(sizes.length, 32);
    assert.equal(
      sizes.reduce((a, b) => a + b, 0),
      N,
    );
    const owner = Array.from({ length: 32 }, (_, l) => l % 3);
    const parts = await Promise.all(
      [0, 1, 2].map(async (p) => {
        const part = FaissIndex.fromBuffer(trained.toBuffer());
        await part.copyListsFrom(whole, BigInt64Array.from(owner.flatMap((o, l) => (o === p ? [BigInt(l)] : []))));
        return part;
      }),
    );
    assert.equal(
      parts.reduce((n, p) => n + p.size, 0),
      N,
    );

    const nq = 50;
    const nprobe = 5;
    const k = 10;
    const queries = clusteredVectors(nq, DIM, 25, 91, true);
    const expected = await whole.search(queries, k, { nprobe });
    const assigned = await trained.assign(queries, nprobe);
    assert.equal(assigned.lists.length, nq * nprobe);
    const answers = await Promise.all(
      parts.map((part, p) => {
        const lists = assigned.lists.map((l) => (l >= 0n && owner[Number(l)] === p ? l : -1n));
        return part.searchLists(queries, k, { lists, coarse: assigned.coarse });
      }),
    );
    const better = (a: number, b: number) => (metric === 'ip' ? b - a : a - b);
    let ndis = 0;
    for (const a of answers) ndis += a.counters.ndis;
    assert.equal(ndis, expected.counters.ndis, 'the partitions scan exactly the probed lists');
    for (let q = 0; q < nq; q++) {
      const merged = answers
        .flatMap((a) => Array.from({ length: k }, (_, r) => ({ id: a.labels[q * k + r]!, d: a.distances[q * k + r]! })))
        .filter((h) => h.id >= 0n)
        .sort((x, y) => better(x.d, y.d))
        .slice(0, k);
      const want = Array.from({ length: k }, (_, r) => ({ id: expected.labels[q * k + r]!, d: expected.distances[q * k + r]! })).filter((h) => h.id >= 0n);
      assert.deepEqual(
        merged.map((h) => h.d),
        want.map((h) => h.d),
        `query ${q} scores`,
      );
      assert.deepEqual(new Set(merged.map((h) => h.id)), new Set(want.map((h) => h.id)), `query ${q} ids`);
    }
  });
}

test('copyListsFrom and searchLists refuse what does not fit', async () => {
  const { trained, whole } = await trainedAndFilled('IVF32,Flat', 'ip');
  const other = FaissIndex.create({ dim: DIM, factory: 'IVF16,Flat', metric: 'ip' });
  await other.train(clusteredVectors(500, DIM, 25, 4, true));
  await assert.rejects(() => other.copyListsFrom(whole, BigInt64Array.of(0n)), /the indexes differ.*nlist 32\/16/);
  await assert.rejects(() => trained.copyListsFrom(whole, BigInt64Array.of(40n)), /list 40 of row 0 is outside \[0, 32\)/);
  const q = clusteredVectors(2, DIM, 25, 5, true);
  await assert.rejects(
    () => whole.searchLists(q, 5, { lists: BigInt64Array.of(1n, 2n, 3n), coarse: new Float32Array(3) }),
    /3 lists and 3 coarse distances for 2 queries/,
  );
  await assert.rejects(() => whole.searchLists(q, 5, { lists: BigInt64Array.of(1n, 99n), coarse: new Float32Array(2) }), /list 99 of query 1 is outside/);
  const flat = FaissIndex.create({ dim: DIM, factory: 'Flat', metric: 'ip' });
  await assert.rejects(() => flat.searchLists(q, 5, { lists: BigInt64Array.of(1n, 2n), coarse: new Float32Array(2) }), /needs an IVF index/);
  await assert.rejects(() => flat.assign(q, 2), /assign needs an IVF index/);
});
