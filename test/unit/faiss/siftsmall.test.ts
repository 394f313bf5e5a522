import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaissIndex, setFaissThreads } from '../../../faiss/index.js';
import { readIvecs, readVectors } from '../../../vectors/index.js';
import { annRecallAtK } from '../../../eval/ann-recall.js';
import { needsSharedData, SHARED_DATA } from '../../support/paths.js';

/*
 * Every index type on siftsmall (10k × 128, exact ground truth): recall@10
 * where it must be, and the inner counters present and growing with
 * nprobe / efSearch. `node dist/bench/ann-sweep.js` prints the full table.
 */

const skip = needsSharedData('siftsmall');

test('recall and counters of all seven index types on siftsmall', { skip, timeout: 120_000 }, async () => {
  setFaissThreads(2);
  const dir = join(SHARED_DATA, 'siftsmall');
  const base = readVectors(join(dir, 'siftsmall_base.fvecs'));
  const queries = readVectors(join(dir, 'siftsmall_query.fvecs'));
  const gt = readIvecs(join(dir, 'siftsmall_groundtruth.ivecs'));
  const recall = (labels: BigInt64Array) => annRecallAtK(labels, gt.data, gt.dim, queries.count, 10);
  const build = async (factory: string) => {
    const index = FaissIndex.create({ dim: base.dim, factory, metric: 'l2' });
    if (!index.info.isTrained) await index.train(base.data);
    await index.add(base.data);
    assert.equal(index.size, 10_000);
    return index;
  };

  const flat = await (await build('Flat')).search(queries.data, 10);
  assert.equal(recall(flat.labels), 1);
  assert.equal(flat.counters.ndis, 100 * 10_000);

  const ivf = await build('IVF64,Flat');
  let previous = { ndis: 0, nlist: 0, recall: 0 };
  for (const nprobe of [1, 4, 16, 64]) {
    const r = await ivf.search(queries.data, 10, { nprobe });
    const now = { ndis: r.counters.ndis, nlist: r.counters.nlist, recall: recall(r.labels) };
    assert.equal(now.nlist, 100 * nprobe);
    assert.ok(now.ndis > previous.ndis && now.recall >= previous.recall, `nprobe ${nprobe}: ${JSON.stringify(now)} after ${JSON.stringify(previous)}`);
    assert.equal(r.counters.quantizerDis, 100 * 64);
    previous = now;
  }
  assert.equal(previous.recall, 1, 'nprobe = nlist is exhaustive');
  assert.equal(previous.ndis, 100 * 10_000);

  const hnsw = await build('HNSW32,Flat');
  let last = { ndis: 0, nhops: 0, recall: 0 };
  for (const efSearch of [16, 64, 256]) {
    const r = await hnsw.search(queries.data, 10, { efSearch });
    const now = { ndis: r.counters.ndis, nhops: r.counters.nhops, recall: recall(r.labels) };
    assert.ok(now.ndis > last.ndis && now.nhops > last.nhops && now.recall >= last.recall, `efSearch ${efSearch}: ${JSON.stringify(now)}`);
    assert.ok(now.ndis < 100 * 10_000, 'HNSW touches a fraction of the corpus');
    last = now;
  }
  assert.ok(last.recall >= 0.99, `HNSW ef=256 recall ${last.recall}`);

  const ivfpq = await build('IVF64,PQ16');
  const pqRecall = recall((await ivfpq.search(queries.data, 10, { nprobe: 16 })).labels);
  assert.ok(pqRecall > 0.5 && pqRecall < 1, `IVF-PQ recall ${pqRecall}`);
  const pq = await build('PQ16');
  const pqr = await pq.search(queries.data, 10);
  assert.ok(recall(pqr.labels) > 0.5, `PQ recall ${recall(pqr.labels)}`);
  assert.equal(pqr.counters.ndis, 100 * 10_000);
  const lsh = await build('LSH512');
  const lshRecall = recall((await lsh.search(queries.data, 10)).labels);
  assert.ok(lshRecall > 0.3, `LSH recall ${lshRecall}`);
  assert.ok(ivfpq.memoryBytes() < ivf.memoryBytes() / 4, 'PQ codes are smaller than full vectors');
});
