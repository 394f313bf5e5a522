import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mixSeed, reservoirSample, seededRandom } from '../../common/index.js';
import { FaissIndex, FaissInvalidArgumentError, parseIvfFactory, setFaissThreads, trainDualViewIvf } from '../../faiss/index.js';
import { readArrowVectors, readNpy, writeNpy } from '../../vectors/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { ITEM_VIEW_COLUMNS, oneTowerSetError, queryViewOf } from './index-task.js';
import type { PoolResult, PoolTask } from './types.js';

/*
 * A shared quantizer (the index job's sharedQuantizer), in two stages before
 * the shards' indexes: every shard draws a seeded uniform sample of its rows
 * (`sample`), then one task trains each index that needs training on the
 * pooled samples (`train`) and writes it trained and empty; every shard's
 * index stage fills a copy of it (index-task.ts).
 */

/** Gathers the given rows of a row-major matrix. */
function rowsOf(data: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => out.set(data.subarray(row * dim, row * dim + dim), i * dim));
  return out;
}

/** One shard's sample: `rows` rows drawn by reservoir sampling (seeded by the job's seed and the shard), item view and query view. */
export async function runSample(task: Extract<PoolTask, { stage: 'sample' }>, cancel?: TaskCancel): Promise<PoolResult> {
  const item = readArrowVectors(task.embeddingFile, ITEM_VIEW_COLUMNS);
  cancel?.throwIfCancelled();
  const rows = reservoirSample(item.count, task.rows, seededRandom(mixSeed(task.seed, task.shardId)));
  const files: PoolResult['files'] = [];
  const itemFile = join(task.workDir, 'item.npy');
  writeNpy(itemFile, rowsOf(item.data, item.dim, rows), item.dim);
  files.push({ path: itemFile, role: 'sample:item', name: `shard-${String(task.shardId).padStart(5, '0')}.item.npy` });
  const query = queryViewOf(task.embeddingFile);
  if (query) {
    const queryFile = join(task.workDir, 'query.npy');
    writeNpy(queryFile, rowsOf(query, item.dim, rows), item.dim);
    files.push({ path: queryFile, role: 'sample:query', name: `shard-${String(task.shardId).padStart(5, '0')}.query.npy` });
  }
  task.progress?.postMessage({ rows: item.count, total: item.count });
  return { rowsIn: item.count, rowsWritten: rows.length, rowsRejected: 0, files };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every index that needs training, trained once on the pooled samples and saved empty; a dual-view index also writes its centroids. */
export async function runTrain(task: Extract<PoolTask, { stage: 'train' }>, cancel?: TaskCancel): Promise<PoolResult> {
  setFaissThreads(1);
  const items = task.samples.map((s) => readNpy(s.item));
  const dim = items[0]?.dim ?? 0;
  const item = concat(items.map((s) => s.data));
  const queryParts = task.samples.map((s) => (s.query ? readNpy(s.query).data : null));
  const query = queryParts.every((q) => q !== null) ? concat(queryParts as Float32Array[]) : null;
  const rows = item.length / Math.max(dim, 1);
  const files: PoolResult['files'] = [];
  for (const spec of task.indexes) {
    cancel?.throwIfCancelled();
    const started = performance.now();
    const path = join(task.workDir, `${spec.name}.faiss`);
    try {
      if (spec.dualView) {
        const ivf = parseIvfFactory(spec.factory);
        if (!ivf) throw new FaissInvalidArgumentError(`a dual-view index must be IVF{n},Flat or IVF{n},PQ{m}, got "${spec.factory}"`, { field: 'factory' });
        if (!query) throw oneTowerSetError();
        const trained = await trainDualViewIvf({ dim, metric: spec.metric, nlist: ivf.nlist, assignView: query, storedView: item, pq: ivf.pq });
        await trained.index.save(path);
        const centroidsPath = join(task.workDir, `${spec.name}.centroids.npy`);
        writeNpy(centroidsPath, trained.centroids, dim);
        files.push({ path: centroidsPath, role: `centroids:${spec.name}`, name: `${spec.name}.centroids.npy` });
      } else {
        const index = FaissIndex.create({ dim, factory: spec.factory, metric: spec.metric });
        // Flat and HNSW-Flat need no training: each shard builds its own as usual.
        if (index.info.isTrained) continue;
        await index.train(item, cancel ? { signal: cancel.signal } : {});
        await index.save(path);
      }
    } catch (err) {
      if (err instanceof FaissInvalidArgumentError || /should be at least as large as number of clusters|nx >= k/.test((err as Error).message))
        throw new FatalTaskError(`cannot train ${spec.name} (${spec.factory}) on a shared sample of ${rows} rows: ${(err as Error).message}`, { cause: err });
      throw err;
    }
    files.push({ path, role: `trained:${spec.name}`, name: `${spec.name}.faiss`, buildMs: performance.now() - started });
  }
  // What this job trained: the index stage reads it rather than trusting whatever files the folder holds.
  const listPath = join(task.workDir, 'trained.json');
  writeFileSync(
    listPath,
    `${JSON.stringify({ jobId: task.jobId, indexes: files.filter((f) => f.role.startsWith('trained:')).map((f) => f.role.slice(8)) })}\n`,
  );
  files.push({ path: listPath, role: 'trained-list', name: 'trained.json' });
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files };
}
