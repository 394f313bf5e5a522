import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaissIndex, FaissInvalidArgumentError, parseIvfFactory, setFaissThreads, trainDualViewIvf } from '../../faiss/index.js';
import { FatalTaskError, type IndexSpec } from '../../jobs/index.js';
import { readSetManifest } from '../../shards/index.js';
import { joinKey } from '../../storage/index.js';
import { readNpy, writeNpy } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { indexSetKeys, oneTowerSetError, quantizerSpec } from './keys.js';
import { quantizerShards, trainsSharedQuantizer } from './sample.js';

/*
 * The shared quantizer's one training task (after every shard's sample,
 * sample.ts): each index that needs training is trained on the pooled
 * samples and saved empty; trained.json names what this job trained.
 */

/** Every index that needs training, trained once on the pooled samples. */
export interface TrainTask extends PoolTask {
  stage: 'train';
  /** Recorded in trained.json, so that the index stage never takes another job's trained files. */
  jobId: string;
  /** Per shard, in shard order: its item-view sample and its query-view sample (null for a one-tower set). */
  samples: Array<{ item: string; query: string | null }>;
  indexes: IndexSpec[];
  workDir: string;
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
async function runTrain(task: TrainTask, cancel?: TaskCancel): Promise<PoolResult> {
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
      if (err instanceof FaissInvalidArgumentError)
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

export const trainStage = defineStage<'index', TrainTask>({
  name: 'train',
  job: 'index',
  runsIn: trainsSharedQuantizer,
  // One training task over every shard's sample.
  async shardIds(storage, spec) {
    await quantizerShards(storage, spec.input); // the embedding set's checks, though training is one task
    return [0];
  },
  async prepare({ storage, task, spec: given, work }) {
    const spec = quantizerSpec(given, 'train');
    const embeddings = await readSetManifest(storage, spec.input, 'embeddings');
    const twoViews = embeddings.views.includes('embedding_q');
    const samples = await Promise.all(
      embeddings.shards.map(async (s) => ({
        item: await storage.localPath(indexSetKeys.sample(spec.output, s.id, 'item')),
        query: twoViews ? await storage.localPath(indexSetKeys.sample(spec.output, s.id, 'query')) : null,
      })),
    );
    return { poolTask: { stage: 'train', jobId: task.jobId, samples, indexes: spec.indexes, workDir: work }, publishUnder: joinKey(spec.output, 'trained') };
  },
  run: runTrain,
});
