import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaissIndex, FaissInvalidArgumentError, kmeans } from '../../../faiss/index.js';

/* Faiss's own words are read in the binding only: too few training points is an argument error there, so the stages decide by class. */

test('training on fewer points than clusters is a FaissInvalidArgumentError (index training and k-means alike)', async () => {
  const index = FaissIndex.create({ dim: 8, factory: 'IVF64,Flat', metric: 'ip' });
  await assert.rejects(index.train(new Float32Array(8 * 10).fill(0.5)), (err: unknown) => err instanceof FaissInvalidArgumentError && !err.retryable);
  await assert.rejects(kmeans(new Float32Array(8 * 10).fill(0.5), 8, 64), (err: unknown) => err instanceof FaissInvalidArgumentError);
});
