import { chooseServingNprobe, isGraphFactory, NprobeCurveSchema } from '../../faiss/index.js';
import { JobError, shardSampleRows, type TaskRecord } from '../../jobs/index.js';
import { INDEX_SET_FORMAT, readSetManifest, TrainedListSchema } from '../../shards/index.js';
import { readJson, sha256, type Storage } from '../../storage/index.js';
import { defineJobKind, relativeTo, rowCounts, tasksOfStage, type JobSpecOf } from '../stage.js';
import { groupStage } from './group.js';
import { indexSetKeys } from './keys.js';
import { routeStage } from './route.js';
import { sampleStage } from './sample.js';
import { shardIndexStage } from './shard-index.js';
import { trainStage } from './train.js';

/*
 * index job: an embedding set (and/or a passage set for BM25) → an index set,
 * one folder per shard. A shared quantizer samples every shard and trains
 * once before the shards' indexes; routed IVF then gathers each serving
 * partition's lists from every shard; graph groups build one HNSW graph per
 * group of shards.
 */

export const indexJob = defineJobKind<'index'>({
  kind: 'index',
  stages: [sampleStage, trainStage, shardIndexStage, routeStage, groupStage],
  check(spec) {
    if (spec.routed && !(spec.sharedQuantizer && spec.input))
      throw new JobError('routed IVF needs sharedQuantizer and an embedding set as input: every partition holds lists of one trained quantizer', {
        field: 'routed',
      });
    if (spec.graphGroups && !(spec.input && spec.indexes.some((i) => isGraphFactory(i.factory))))
      throw new JobError('graphGroups needs an embedding set as input and an HNSW index to build per group', { field: 'graphGroups' });
  },
  inputs: (spec) => [...(spec.input ? [spec.input] : []), ...(spec.bm25 ? [spec.bm25.passages] : [])],
  storageKeys: (spec) => [
    ['output', spec.output],
    ...(spec.input ? [['input', spec.input] as [string, string]] : []),
    ...(spec.bm25 ? [['bm25.passages', spec.bm25.passages] as [string, string]] : []),
  ],
  outputFormat: INDEX_SET_FORMAT,
  // The shards' folders; a routed job's partitions and a grouped job's graphs beside them.
  async manifest(storage, job, allTasks) {
    const spec = job.spec;
    const tasks = tasksOfStage(allTasks, 'index');
    return {
      format: INDEX_SET_FORMAT,
      ...rowCounts(job.id, tasks),
      embeddings: spec.input,
      passages: spec.bm25?.passages ?? null,
      indexes: await servingIndexes(storage, spec, tasks),
      bm25: spec.bm25,
      shards: tasks.map((t) => ({ id: t.shardId, rows: t.rowsIn, files: filesOf(spec.output, t) })),
      ...(spec.routed ? { routed: servingParts(spec.output, 'route', spec.routed.partitions, allTasks) } : {}),
      ...(spec.graphGroups ? { groups: servingParts(spec.output, 'group', spec.graphGroups.groups, allTasks) } : {}),
    };
  },
});

function filesOf(output: string, task: TaskRecord) {
  return task.outputs.map((o) => ({
    role: o.role,
    path: relativeTo(output, o.key),
    sha256: o.sha256,
    bytes: o.bytes,
    ...(o.buildMs !== undefined ? { buildMs: o.buildMs } : {}),
  }));
}

/** Serving parts made by a stage (routed partitions, graph groups): each one's indexes and row ids (a routed one's placement). */
function servingParts(output: string, stage: 'route' | 'group', count: number, allTasks: TaskRecord[]) {
  const parts = allTasks.filter((t) => t.stage === stage).sort((a, b) => a.shardId - b.shardId);
  if (parts.length !== count) throw new Error(`the ${stage} stage has ${parts.length} tasks for ${count} parts`);
  const indexes = [...new Set(parts[0]!.outputs.filter((o) => o.role.startsWith('faiss:')).map((o) => o.role.slice('faiss:'.length)))];
  return { partitions: count, indexes, parts: parts.map((t) => ({ id: t.shardId, rows: t.rowsWritten, files: filesOf(output, t) })) };
}

/** Per index trained by the job's shared quantizer: its trained, empty index (relative to the set) and the rows it was trained on. */
async function sharedQuantizers(storage: Storage, spec: JobSpecOf<'index'>): Promise<Map<string, { path: string; sha256: string; sampleRows: number }>> {
  const out = new Map<string, { path: string; sha256: string; sampleRows: number }>();
  if (!spec.sharedQuantizer || !spec.input) return out;
  const shards = (await readSetManifest(storage, spec.input, 'embeddings')).shards;
  const total = shards.reduce((n, s) => n + s.rows, 0);
  const sampleRows = shards.reduce((n, s) => n + shardSampleRows(spec.sharedQuantizer!.sampleRows, s.rows, total), 0);
  const trained = (await readJson(storage, indexSetKeys.list(spec.output), TrainedListSchema)).indexes;
  for (const index of spec.indexes.filter((i) => trained.includes(i.name))) {
    const key = indexSetKeys.trained(spec.output, index.name);
    out.set(index.name, { path: relativeTo(spec.output, key), sha256: (await sha256(await storage.localPath(key))).sha256, sampleRows });
  }
  return out;
}

/**
 * The index specs as served: an IVF index without a given nprobe gets the one
 * its shards' held-out curves pick (faiss/nprobe-tuning.ts), with the pooled
 * curve beside it so the choice can be checked.
 */
async function servingIndexes(storage: Storage, spec: JobSpecOf<'index'>, tasks: TaskRecord[]): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  const quantizers = await sharedQuantizers(storage, spec);
  for (const given of spec.indexes) {
    const index = { ...given, ...(quantizers.has(given.name) ? { quantizer: quantizers.get(given.name)! } : {}) };
    const files = tasks.flatMap((t) => t.outputs.filter((o) => o.role === `nprobe:${index.name}`));
    if (files.length === 0) {
      out.push({ ...index });
      continue;
    }
    const curves = await Promise.all(files.map((f) => readJson(storage, f.key, NprobeCurveSchema)));
    const chosen = chooseServingNprobe(curves, spec.nprobeTuning.overlap);
    out.push({
      ...index,
      nprobe: chosen.nprobe,
      nprobeTuning: {
        target: spec.nprobeTuning.overlap,
        reached: chosen.reached,
        k: spec.nprobeTuning.k,
        queries: chosen.queries,
        shards: curves.length,
        curve: chosen.points,
      },
    });
  }
  return out;
}
