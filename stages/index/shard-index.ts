import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  addDualView,
  buildDualViewIvf,
  FaissIndex,
  FaissInvalidArgumentError,
  measureNprobeCurve,
  parseIvfFactory,
  setFaissThreads,
  type NprobeTuningOptions,
} from '../../faiss/index.js';
import { Bm25Builder, saveBm25 } from '../../bm25/index.js';
import { FatalTaskError, type IndexSpec } from '../../jobs/index.js';
import { readSetManifest, shardFile } from '../../shards/index.js';
import { readArrowVectors, readNpy, type VectorSet } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { passageText, passagesOf } from '../passages.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { indexSetKeys, ITEM_VIEW_COLUMNS, oneTowerSetError, queryViewOf, trainedFiles, type TrainedFiles } from './keys.js';

/*
 * index job, per shard (after a shared quantizer's sample and train stages
 * where the job has one): one Faiss index per requested type over the
 * shard's embeddings, and BM25 over its passages.
 */

export interface ShardIndexTask extends PoolTask {
  stage: 'index';
  shardId: number;
  embeddingFile: string | null;
  passageFile: string | null;
  indexes: IndexSpec[];
  /** Per index name: the shared trained (empty) index to fill, and a dual-view index's centroids. */
  trained?: Record<string, TrainedFiles>;
  nprobeTuning: NprobeTuningOptions;
  bm25: { k1: number; b: number } | null;
  workDir: string;
}

/**
 * An ordinary Faiss index from the factory string, or SCI's dual-view IVF (faiss/dual-view-ivf.ts); with a shared
 * quantizer (`trained`), a copy of the job's trained, empty index filled with this shard's rows instead.
 */
async function buildIndex(
  spec: IndexSpec,
  vectors: VectorSet,
  queryView: () => Float32Array | null,
  trained: TrainedFiles | undefined,
  cancel?: TaskCancel,
): Promise<FaissIndex> {
  const ids = vectors.ids ?? rowIds(vectors.count);
  if (trained) {
    const index = await FaissIndex.load(trained.index);
    cancel?.throwIfCancelled();
    if (!spec.dualView) {
      await index.add(vectors.data, ids, cancel ? { signal: cancel.signal } : {});
      return index;
    }
    const assignView = queryView();
    if (!assignView || !trained.centroids) throw oneTowerSetError();
    await addDualView(index, { centroids: readNpy(trained.centroids).data, metric: spec.metric, assignView, storedView: vectors.data, ids });
    return index;
  }
  if (spec.dualView) {
    const ivf = parseIvfFactory(spec.factory);
    if (!ivf) throw new FaissInvalidArgumentError(`a dual-view index must be IVF{n},Flat or IVF{n},PQ{m}, got "${spec.factory}"`, { field: 'factory' });
    const assignView = queryView();
    if (!assignView) throw oneTowerSetError();
    cancel?.throwIfCancelled();
    const built = await buildDualViewIvf({ dim: vectors.dim, metric: spec.metric, nlist: ivf.nlist, assignView, storedView: vectors.data, ids, pq: ivf.pq });
    return built.index;
  }
  const index = FaissIndex.create({ dim: vectors.dim, factory: spec.factory, metric: spec.metric });
  cancel?.throwIfCancelled();
  if (!index.info.isTrained) await index.train(vectors.data, cancel ? { signal: cancel.signal } : {});
  cancel?.throwIfCancelled();
  await index.add(vectors.data, vectors.ids, cancel ? { signal: cancel.signal } : {});
  return index;
}

const rowIds = (n: number) => BigInt64Array.from({ length: n }, (_, i) => BigInt(i));

/**
 * Index, per shard: one Faiss index per requested type over the shard's embeddings, and BM25 over its passages;
 * for an IVF index without a serving nprobe, its overlap-vs-nprobe curve on a held-out sample (faiss/nprobe-tuning.ts).
 */
async function runIndex(task: ShardIndexTask, cancel?: TaskCancel): Promise<PoolResult> {
  // One OpenMP thread per pool thread: the pool is the parallelism.
  setFaissThreads(1);
  const files: PoolResult['files'] = [];
  let rowsIn = 0;
  if (task.embeddingFile) {
    const vectors = readArrowVectors(task.embeddingFile, ITEM_VIEW_COLUMNS);
    rowsIn = vectors.count;
    let queryViewRead: Float32Array | null | undefined;
    const queryView = () => (queryViewRead === undefined ? (queryViewRead = queryViewOf(task.embeddingFile!)) : queryViewRead);
    for (const spec of task.indexes) {
      const buildStarted = performance.now();
      let index: FaissIndex;
      try {
        index = await buildIndex(spec, vectors, queryView, task.trained?.[spec.name], cancel);
      } catch (err) {
        if (err instanceof FaissInvalidArgumentError) {
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
      if (task.trained?.[spec.name] && index.info.nlist !== undefined) {
        // On a shared quantizer: the size of each list here, so routing places lists without loading every shard's index.
        const listsPath = join(task.workDir, `${spec.name}.lists.json`);
        writeFileSync(listsPath, `${JSON.stringify(Array.from(index.listSizes()))}\n`);
        files.push({ path: listsPath, role: `lists:${spec.name}`, name: `${spec.name}.lists.json` });
      }
      if (index.info.nlist !== undefined && spec.nprobe === undefined) {
        cancel?.throwIfCancelled();
        const curve = await measureNprobeCurve(
          index,
          { data: vectors.data, ids: vectors.ids ?? rowIds(vectors.count), dim: vectors.dim },
          queryView() ?? vectors.data,
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

export const shardIndexStage = defineStage<'index', ShardIndexTask>({
  name: 'index',
  job: 'index',
  async shardIds(storage, spec) {
    const manifest = spec.input ? await readSetManifest(storage, spec.input, 'embeddings') : await readSetManifest(storage, spec.bm25!.passages, 'passages');
    return manifest.shards.map((s) => s.id);
  },
  async prepare({ storage, task, spec, work }) {
    const shardId = task.shardId;
    return {
      poolTask: {
        stage: 'index',
        shardId,
        embeddingFile: spec.input && spec.indexes.length > 0 ? await shardFile(storage, spec.input, 'embeddings', shardId) : null,
        passageFile: spec.bm25 ? await shardFile(storage, spec.bm25.passages, 'passages', shardId) : null,
        indexes: spec.indexes,
        ...(spec.sharedQuantizer ? { trained: await trainedFiles(storage, spec, task.jobId) } : {}),
        nprobeTuning: spec.nprobeTuning,
        bm25: spec.bm25 ? { k1: spec.bm25.k1, b: spec.bm25.b } : null,
        workDir: work,
      },
      publishUnder: indexSetKeys.shard(spec.output, shardId),
    };
  },
  run: runIndex,
});
