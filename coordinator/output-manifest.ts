import { INDEX_SET_FORMAT, NEGATIVES_SET_FORMAT, readSetManifest, TrainedListSchema } from '../shards/index.js';
import { joinKey, readJson, sha256, type Storage } from '../storage/index.js';
import { EMBEDDING_FORMAT, readEmbeddingLayout } from '../encoder/index.js';
import { chooseServingNprobe, NprobeCurveSchema } from '../faiss/index.js';
import { shardSampleRows, type JobRecord, type JobSpec, type TaskRecord } from '../jobs/index.js';

export { INDEX_SET_FORMAT };

/*
 * The job's output manifest: every shard exactly once (in shard order), with
 * its files and checksums, and rowsIn = rowsWritten + rowsRejected summed
 * from the tasks. Encode jobs produce an embedding shard set (readable as
 * the input of an index job); index jobs a per-shard index set.
 */
export async function buildOutputManifest(storage: Storage, job: JobRecord, allTasks: TaskRecord[]): Promise<string> {
  const spec = job.spec;
  // The stage whose tasks make the set: encode's, mine's merge, index's shards (a routed job's partitions beside them).
  const stageOfSet = spec.kind === 'encode' ? 'encode' : spec.kind === 'mine' ? 'merge' : 'index';
  const tasks = allTasks.filter((t) => t.stage === stageOfSet).sort((a, b) => a.shardId - b.shardId);
  const sum = (f: (t: TaskRecord) => number) => tasks.reduce((s, t) => s + f(t), 0);
  const common = {
    jobId: job.id,
    createdAt: new Date().toISOString(),
    rowsIn: sum((t) => t.rowsIn),
    rowsWritten: sum((t) => t.rowsWritten),
    rowsRejected: sum((t) => t.rowsRejected),
  };
  let manifest: Record<string, unknown>;
  if (spec.kind === 'encode') {
    const passages = await readSetManifest(storage, spec.input, 'passages');
    const firstRow = new Map(passages.shards.map((s) => [s.id, s.firstRowId]));
    // Dimension and views as written (a model's come from its weights, not the job spec).
    const first = tasks[0]?.outputs.find((o) => o.role === 'embeddings');
    const layout = first ? readEmbeddingLayout(await storage.localPath(first.key)) : { dim: 0, views: [] as string[], metadata: {} };
    manifest = {
      format: EMBEDDING_FORMAT,
      ...common,
      passages: spec.input,
      encoder:
        spec.encoder.kind === 'hashed-tfidf'
          ? { ...spec.encoder, model: joinKey(spec.output, 'model', 'encoder.json') }
          : { ...spec.encoder, written: layout.metadata },
      dim: layout.dim,
      views: layout.views,
      shards: tasks.map((t) => {
        const file = t.outputs.find((o) => o.role === 'embeddings')!;
        return {
          id: t.shardId,
          path: file.key.slice(spec.output.length).replace(/^\/+/, ''),
          rows: t.rowsWritten,
          sha256: file.sha256,
          bytes: file.bytes,
          firstRowId: firstRow.get(t.shardId) ?? 0,
        };
      }),
    };
  } else if (spec.kind === 'mine') {
    // The merge task's outputs: the negatives file and its account.
    const file = tasks[0]?.outputs.find((o) => o.role === 'negatives');
    const account = tasks[0]?.outputs.find((o) => o.role === 'account');
    if (!file || !account) throw new Error('the merge task has no negatives output');
    manifest = {
      format: NEGATIVES_SET_FORMAT,
      ...common,
      indexSet: spec.input,
      queries: spec.queries,
      source: spec.source,
      k: spec.k,
      filter: spec.filter,
      stage: spec.stage,
      checkpoint: spec.checkpoint,
      account: JSON.parse(await storage.readText(account.key)) as unknown,
      file: { path: file.key.slice(spec.output.length).replace(/^\/+/, ''), sha256: file.sha256, bytes: file.bytes },
    };
  } else {
    manifest = {
      format: INDEX_SET_FORMAT,
      ...common,
      embeddings: spec.input,
      passages: spec.bm25?.passages ?? null,
      indexes: await servingIndexes(storage, spec, tasks),
      bm25: spec.bm25,
      shards: tasks.map((t) => ({ id: t.shardId, rows: t.rowsIn, files: filesOf(spec.output, t) })),
      ...(spec.routed ? { routed: servingParts(spec.output, 'route', spec.routed.partitions, allTasks) } : {}),
      ...(spec.graphGroups ? { groups: servingParts(spec.output, 'group', spec.graphGroups.groups, allTasks) } : {}),
    };
  }
  const key = joinKey(spec.output, 'manifest.json');
  await storage.writeText(key, `${JSON.stringify(manifest, null, 2)}\n`);
  return key;
}

function filesOf(output: string, task: TaskRecord) {
  return task.outputs.map((o) => ({
    role: o.role,
    path: o.key.slice(output.length).replace(/^\/+/, ''),
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
async function sharedQuantizers(
  storage: Storage,
  spec: Extract<JobSpec, { kind: 'index' }>,
): Promise<Map<string, { path: string; sha256: string; sampleRows: number }>> {
  const out = new Map<string, { path: string; sha256: string; sampleRows: number }>();
  if (!spec.sharedQuantizer || !spec.input) return out;
  const shards = (await readSetManifest(storage, spec.input, 'embeddings')).shards;
  const total = shards.reduce((n, s) => n + s.rows, 0);
  const sampleRows = shards.reduce((n, s) => n + shardSampleRows(spec.sharedQuantizer!.sampleRows, s.rows, total), 0);
  const trained = (await readJson(storage, joinKey(spec.output, 'trained', 'trained.json'), TrainedListSchema)).indexes;
  for (const index of spec.indexes.filter((i) => trained.includes(i.name))) {
    const key = joinKey(spec.output, 'trained', `${index.name}.faiss`);
    out.set(index.name, { path: key.slice(spec.output.length).replace(/^\/+/, ''), sha256: (await sha256(await storage.localPath(key))).sha256, sampleRows });
  }
  return out;
}

/**
 * The index specs as served: an IVF index without a given nprobe gets the one
 * its shards' held-out curves pick (faiss/nprobe-tuning.ts), with the pooled
 * curve beside it so the choice can be checked.
 */
async function servingIndexes(storage: Storage, spec: Extract<JobSpec, { kind: 'index' }>, tasks: TaskRecord[]): Promise<Array<Record<string, unknown>>> {
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
