import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaissIndex, getFaissThreads, setFaissThreads } from '../../faiss/index.js';
import { writeNpy } from '../../vectors/index.js';
import { pythonFaissAvailable, pythonFaissSearch } from '../../bench/python-faiss.js';
import { tempDir } from '../support/paths.js';
import { clusteredVectors } from '../support/vectors.js';

/*
 * Index files written by our addon open in python faiss (Debian
 * python3-faiss, installed by `make test`) and give identical results, for
 * every index type, including HNSW searched by our own loop.
 */

const skip = pythonFaissAvailable() ? false : 'python3-faiss is not installed (make test installs it: scripts/ensure-system.sh)';

test('indexes written here load in python faiss with identical search results', { skip, timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  // Same thread count on both sides: BLAS sums in a different order with more threads.
  const threads = getFaissThreads();
  setFaissThreads(1);
  t.after(() => setFaissThreads(threads));
  const dim = 32;
  const base = clusteredVectors(4000, dim, 40, 21, true);
  const queries = clusteredVectors(60, dim, 40, 22, true);
  const queriesNpy = join(dir, 'q.npy');
  writeNpy(queriesNpy, queries, dim);
  const cases: Array<[string, 'ip' | 'l2', Record<string, number>]> = [
    ['Flat', 'ip', {}],
    ['IVF32,Flat', 'l2', { nprobe: 5 }],
    ['IVF32,PQ8', 'ip', { nprobe: 5 }],
    ['HNSW16,Flat', 'ip', { efSearch: 24 }],
    ['HNSW32,Flat', 'l2', { efSearch: 80 }],
    ['PQ8', 'l2', {}],
    ['LSH128', 'l2', {}],
  ];
  for (const [factory, metric, params] of cases) {
    const index = FaissIndex.create({ dim, factory, metric });
    if (!index.info.isTrained) await index.train(base);
    await index.add(
      base,
      BigInt64Array.from({ length: 4000 }, (_, i) => BigInt(i * 7 + 1)),
    );
    const path = join(dir, 'index.faiss');
    await index.save(path);
    const ours = await index.search(queries, 10, params);
    const theirs = pythonFaissSearch(path, queriesNpy, 10, params, 1, 1, join(dir, 'out.npz'));
    assert.deepEqual(ours.labels, theirs.labels, `${factory} ${metric}: labels differ`);
    assert.deepEqual(ours.distances, theirs.distances, `${factory} ${metric}: distances differ`);
  }
});
