import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaissIndex, FaissInvalidArgumentError, measureNprobeCurve, setFaissThreads } from '../../faiss/index.js';
import { Bm25Builder, saveBm25 } from '../../bm25/index.js';
import { readArrowVectors, VectorFileError } from '../../vectors/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import type { PoolResult, PoolTask } from './types.js';
import { passageText, passagesOf } from './passages.js';
import type { TaskCancel } from '../cancel-flag.js';

/** The passages' vectors: the one-tower column, or the item tower's view f_i of a two-tower encoder. */
export const ITEM_VIEW_COLUMNS = ['embedding', 'embedding_i'] as const;

/** The passages in the query tower's view where the shard has one (a two-tower encoder's `embedding_q`), else the stored view. */
function queryViewOf(file: string, stored: Float32Array): Float32Array {
  try {
    return readArrowVectors(file, 'embedding_q').data;
  } catch (err) {
    if (err instanceof VectorFileError && /no column/.test(err.message)) return stored;
    throw err;
  }
}

const rowIds = (n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(i));

/**
 * Index, per shard: one Faiss index per requested type over the shard's embeddings, and BM25 over its passages;
 * for an IVF index without a serving nprobe, its overlap-vs-nprobe curve on a held-out sample (faiss/nprobe-tuning.ts).
 */
export async function runIndex(task: Extract<PoolTask, { stage: 'index' }>, cancel?: TaskCancel): Promise<PoolResult> {
  // One OpenMP thread per pool thread: the pool is the parallelism.
  setFaissThreads(1);
  const files: PoolResult['files'] = [];
  let rowsIn = 0;
  if (task.embeddingFile) {
    const vectors = readArrowVectors(task.embeddingFile, ITEM_VIEW_COLUMNS);
    rowsIn = vectors.count;
    let queryView: Float32Array | undefined;
    for (const spec of task.indexes) {
      const buildStarted = performance.now();
      const index = FaissIndex.create({ dim: vectors.dim, factory: spec.factory, metric: spec.metric });
      try {
        cancel?.throwIfCancelled();
        if (!index.info.isTrained) await index.train(vectors.data, cancel ? { signal: cancel.signal } : {});
        cancel?.throwIfCancelled();
        await index.add(vectors.data, vectors.ids, cancel ? { signal: cancel.signal } : {});
      } catch (err) {
        if (err instanceof FaissInvalidArgumentError || /should be at least as large as number of clusters|nx >= k/.test((err as Error).message)) {
          throw new FatalTaskError(
            `shard ${task.shardId}: cannot build ${spec.name} (${spec.factory}) on ${vectors.count} vectors: ${(err as Error).message}`,
            { cause: err },
          );
        }
        throw err;
      }
      if (spec.efSearch) index.setDefaultEfSearch(spec.efSearch);
      const buildMs = performance.now() - buildStarted;
      const path = join(task.workDir, `${spec.name}.faiss`);
      await index.save(path);
      files.push({ path, role: `faiss:${spec.name}`, name: `${spec.name}.faiss`, buildMs });
      if (index.info.nlist !== undefined && spec.nprobe === undefined) {
        cancel?.throwIfCancelled();
        queryView ??= queryViewOf(task.embeddingFile, vectors.data);
        const curve = await measureNprobeCurve(
          index,
          { data: vectors.data, ids: vectors.ids ?? rowIds(vectors.count), dim: vectors.dim },
          queryView,
          spec.metric,
          {
            ...task.nprobeTuning,
            shardId: task.shardId,
          },
        );
        const curvePath = join(task.workDir, `${spec.name}.nprobe.json`);
        writeFileSync(curvePath, `${JSON.stringify(curve)}\n`);
        files.push({ path: curvePath, role: `nprobe:${spec.name}`, name: `${spec.name}.nprobe.json` });
      }
      task.progress?.postMessage({ rows: vectors.count, total: vectors.count });
    }
  }
  cancel?.throwIfCancelled();
  if (task.passageFile && task.bm25) {
    const buildStarted = performance.now();
    const builder = new Bm25Builder(task.bm25);
    for await (const p of passagesOf(task.passageFile)) {
      builder.add(p.rowId, p.externalId, passageText(p));
      if (builder.documents % 5000 === 0) cancel?.throwIfCancelled();
    }
    if (!task.embeddingFile) rowsIn = builder.documents;
    const dir = join(task.workDir, 'bm25');
    saveBm25(builder.build(), dir);
    const buildMs = performance.now() - buildStarted;
    for (const name of readdirSync(dir).sort()) files.push({ path: join(dir, name), role: 'bm25', name: `bm25/${name}`, buildMs });
  }
  return { rowsIn, rowsWritten: rowsIn, rowsRejected: 0, files };
}
