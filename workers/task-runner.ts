import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { fetchModelFolder, joinKey, linkFiles, readJson, sha256, StorageError, type Storage } from '../storage/index.js';
import { readSetManifest, shardFile, TrainedListSchema, verifiedFile } from '../shards/index.js';
import { FatalTaskError, groupShards, isGraphFactory, shardSampleRows, type TaskMessage, type TaskOutput } from '../jobs/index.js';
import { parseIvfFactory } from '../faiss/index.js';
import type { EncoderFiles, PoolResult, PoolTask, ProgressMessage, TrainedFiles } from './tasks/types.js';
import { fromWorkerThread } from './errors.js';
import { cancelFlagFor } from './cancel-flag.js';

/*
 * Runs one task message: fetches its inputs through storage, runs the CPU
 * work in the piscina pool, publishes the outputs under deterministic names
 * (a task that runs twice overwrites its own files) and reports them.
 */

export interface TaskRunResult {
  rowsIn: number;
  rowsWritten: number;
  rowsRejected: number;
  outputs: TaskOutput[];
}

export const shardName = (id: number) => String(id).padStart(5, '0');

export async function runTask(
  task: TaskMessage,
  storage: Storage,
  pool: Piscina,
  options: { onProgress?: (p: ProgressMessage) => void; beforePublish?: () => void; signal?: AbortSignal } = {},
): Promise<TaskRunResult> {
  const { spec, shardId } = task;
  const work = await storage.workDir(spec.output);
  try {
    let poolTask: PoolTask;
    let publishUnder: string;
    if (task.stage === 'fit' || task.stage === 'encode') {
      if (spec.kind !== 'encode') throw new FatalTaskError(`stage ${task.stage} needs an encode job`);
      const passageFile = await shardFile(storage, spec.input, 'passages', shardId);
      if (task.stage === 'fit') {
        if (spec.encoder.kind !== 'hashed-tfidf') throw new FatalTaskError(`a ${spec.encoder.kind} encoder has no fit stage`);
        poolTask = { stage: 'fit', passageFile, buckets: spec.encoder.buckets, outFile: join(work, `df-${shardName(shardId)}.bin`) };
        publishUnder = joinKey(spec.output, 'fit');
      } else {
        const encoder =
          spec.encoder.kind === 'hashed-tfidf'
            ? {
                kind: 'hashed-tfidf' as const,
                modelConfig: await storage.localPath(joinKey(spec.output, 'model', 'encoder.json')),
                modelIdf: await storage.localPath(joinKey(spec.output, 'model', 'idf.f32')),
              }
            : { kind: 'model' as const, ...(await modelFolder(storage, spec.encoder.path, join(work, 'model'))), batchSize: spec.encoder.batchSize };
        poolTask = { stage: 'encode', passageFile, encoder, outFile: join(work, `embeddings-${shardName(shardId)}.arrow`), batchRows: 512 };
        publishUnder = spec.output;
      }
    } else if (task.stage === 'stats' || task.stage === 'queries' || task.stage === 'mine' || task.stage === 'merge') {
      if (spec.kind !== 'mine') throw new FatalTaskError(`stage ${task.stage} needs a mine job`);
      ({ poolTask, publishUnder } = await minePoolTask(storage, task, spec, work));
    } else if (task.stage === 'sample' || task.stage === 'train') {
      if (spec.kind !== 'index' || !spec.sharedQuantizer || !spec.input)
        throw new FatalTaskError(`stage ${task.stage} needs an index job with a shared quantizer`);
      ({ poolTask, publishUnder } = await quantizerPoolTask(storage, task, spec as QuantizerSpec, work));
    } else if (task.stage === 'route') {
      if (spec.kind !== 'index' || !spec.sharedQuantizer || !spec.input || !spec.routed)
        throw new FatalTaskError('stage route needs an index job with a shared quantizer and the routed option');
      ({ poolTask, publishUnder } = await routePoolTask(storage, task, spec as QuantizerSpec, work));
    } else if (task.stage === 'group') {
      if (spec.kind !== 'index' || !spec.graphGroups || !spec.input) throw new FatalTaskError('stage group needs an index job with the graphGroups option');
      const shards = (await readSetManifest(storage, spec.input, 'embeddings')).shards;
      const mine = groupShards(
        shards.map((s) => s.id),
        task.shardId,
        spec.graphGroups.groups,
      );
      poolTask = {
        stage: 'group',
        group: task.shardId,
        indexes: spec.indexes.filter((i) => isGraphFactory(i.factory)),
        embeddingFiles: await Promise.all(
          mine.map((id) =>
            verifiedFile(
              storage,
              spec.input!,
              shards.find((s) => s.id === id)!,
            ),
          ),
        ),
        workDir: work,
      };
      publishUnder = indexSetKeys.group(spec.output, task.shardId);
    } else {
      if (spec.kind !== 'index') throw new FatalTaskError(`stage ${task.stage} needs an index job`);
      const embeddingFile = spec.input && spec.indexes.length > 0 ? await shardFile(storage, spec.input, 'embeddings', shardId) : null;
      const passageFile = spec.bm25 ? await shardFile(storage, spec.bm25.passages, 'passages', shardId) : null;
      poolTask = {
        stage: 'index',
        shardId,
        embeddingFile,
        passageFile,
        indexes: spec.indexes,
        ...(spec.sharedQuantizer ? { trained: await trainedFiles(storage, spec, task.jobId) } : {}),
        nprobeTuning: spec.nprobeTuning,
        bm25: spec.bm25 ? { k1: spec.bm25.k1, b: spec.bm25.b } : null,
        workDir: work,
      };
      publishUnder = indexSetKeys.shard(spec.output, shardId);
    }
    const channel = new MessageChannel();
    channel.port1.on('message', (m: ProgressMessage) => options.onProgress?.(m));
    let result: PoolResult;
    try {
      // Not piscina's own signal: that kills the thread, even under a native call. The thread stops itself between batches.
      options.signal?.throwIfAborted();
      result = (await pool.run(
        { ...poolTask, progress: channel.port2, cancel: cancelFlagFor(options.signal) },
        { transferList: [channel.port2] },
      )) as PoolResult;
    } catch (err) {
      throw fromWorkerThread(err);
    } finally {
      channel.port1.close();
    }
    options.beforePublish?.();
    const outputs: TaskOutput[] = [];
    for (const file of result.files) {
      const name = file.name === '' ? file.path.slice(work.length + 1) : file.name;
      const key = joinKey(publishUnder, name);
      const { sha256, bytes } = await storage.publish(file.path, key);
      outputs.push({ key, sha256, bytes, role: file.role, ...(file.buildMs !== undefined ? { buildMs: Math.round(file.buildMs) } : {}) });
    }
    return { rowsIn: result.rowsIn, rowsWritten: result.rowsWritten, rowsRejected: result.rowsRejected, outputs };
  } finally {
    await storage.cleanup(work);
  }
}

type IndexJobSpec = Extract<TaskMessage['spec'], { kind: 'index' }>;
type QuantizerSpec = IndexJobSpec & { input: string; sharedQuantizer: NonNullable<IndexJobSpec['sharedQuantizer']> };

/**
 * Deterministic keys of an index job's files under the index set: the shards', the shared quantizer's (the
 * manifest names the trained ones), the routed partitions' and the graph groups' folders.
 */
export const indexSetKeys = {
  /** A shard's folder, as the index stage publishes it. */
  shard: (output: string, shardId: number) => joinKey(output, `shard-${shardName(shardId)}`),
  sample: (output: string, shardId: number, view: 'item' | 'query') => joinKey(output, 'sample', `shard-${shardName(shardId)}.${view}.npy`),
  trained: (output: string, name: string) => joinKey(output, 'trained', `${name}.faiss`),
  centroids: (output: string, name: string) => joinKey(output, 'trained', `${name}.centroids.npy`),
  list: (output: string) => joinKey(output, 'trained', 'trained.json'),
  /** A shard's index file as the index stage publishes it. */
  shardIndex: (output: string, shardId: number, name: string) => joinKey(indexSetKeys.shard(output, shardId), `${name}.faiss`),
  /** A shard's list sizes of a shared-quantizer IVF index, as the index stage publishes them. */
  shardListSizes: (output: string, shardId: number, name: string) => joinKey(indexSetKeys.shard(output, shardId), `${name}.lists.json`),
  /** A routed partition's folder. */
  partition: (output: string, partition: number) => joinKey(output, 'routed', `part-${shardName(partition)}`),
  /** A graph group's folder. */
  group: (output: string, group: number) => joinKey(output, 'groups', `group-${shardName(group)}`),
};

/** Routed IVF: the partition's task over every shard's index of each routed index (the IVF ones this job trained). */
async function routePoolTask(storage: Storage, task: TaskMessage, spec: QuantizerSpec, work: string): Promise<{ poolTask: PoolTask; publishUnder: string }> {
  const trained = await trainedFiles(storage, spec, task.jobId);
  const routed = spec.indexes.filter((i) => trained[i.name] && parseIvfFactory(i.factory));
  if (routed.length === 0)
    throw new FatalTaskError(
      `the routed option needs an IVF index (IVF{n},Flat or IVF{n},PQ{m}); this job builds ${spec.indexes.map((i) => i.factory).join(', ')}`,
      {
        field: 'routed',
      },
    );
  const embeddings = await readSetManifest(storage, spec.input, 'embeddings');
  const shards = [];
  for (const shard of embeddings.shards) {
    const indexFiles: Record<string, string> = {};
    const listSizeFiles: Record<string, string> = {};
    for (const index of routed) {
      indexFiles[index.name] = await storage.localPath(indexSetKeys.shardIndex(spec.output, shard.id, index.name));
      listSizeFiles[index.name] = await storage.localPath(indexSetKeys.shardListSizes(spec.output, shard.id, index.name));
    }
    shards.push({ shardId: shard.id, indexFiles, listSizeFiles, embeddingFile: await verifiedFile(storage, spec.input, shard) });
  }
  return {
    poolTask: {
      stage: 'route',
      partition: task.shardId,
      partitions: spec.routed!.partitions,
      indexes: routed.map((i) => ({ name: i.name, trained: trained[i.name]!.index })),
      shards,
      workDir: work,
    },
    publishUnder: indexSetKeys.partition(spec.output, task.shardId),
  };
}

async function quantizerPoolTask(
  storage: Storage,
  task: TaskMessage,
  spec: QuantizerSpec,
  work: string,
): Promise<{ poolTask: PoolTask; publishUnder: string }> {
  const embeddings = await readSetManifest(storage, spec.input, 'embeddings');
  if (task.stage === 'sample') {
    // Each shard's share of the sample is its share of the rows: the pooled sample is uniform over the set.
    const total = embeddings.shards.reduce((n, s) => n + s.rows, 0);
    const shard = embeddings.shards.find((s) => s.id === task.shardId);
    if (!shard) throw new FatalTaskError(`embedding set ${spec.input} has no shard ${task.shardId}`);
    return {
      poolTask: {
        stage: 'sample',
        shardId: task.shardId,
        embeddingFile: await shardFile(storage, spec.input, 'embeddings', task.shardId),
        rows: shardSampleRows(spec.sharedQuantizer.sampleRows, shard.rows, total),
        seed: spec.sharedQuantizer.seed,
        workDir: work,
      },
      publishUnder: joinKey(spec.output, 'sample'),
    };
  }
  const twoViews = embeddings.views.includes('embedding_q');
  const samples = await Promise.all(
    embeddings.shards.map(async (s) => ({
      item: await storage.localPath(indexSetKeys.sample(spec.output, s.id, 'item')),
      query: twoViews ? await storage.localPath(indexSetKeys.sample(spec.output, s.id, 'query')) : null,
    })),
  );
  return { poolTask: { stage: 'train', jobId: task.jobId, samples, indexes: spec.indexes, workDir: work }, publishUnder: joinKey(spec.output, 'trained') };
}

/** This job's train stage's files for each index it trained (indexes that need no training have none). */
async function trainedFiles(storage: Storage, spec: IndexJobSpec, jobId: string): Promise<Record<string, TrainedFiles>> {
  const listKey = indexSetKeys.list(spec.output);
  const list = await readJson(storage, listKey, TrainedListSchema);
  if (list.jobId !== jobId) throw new FatalTaskError(`${listKey} is job ${list.jobId}'s, not this job's: its train stage has not run`, { file: listKey });
  const out: Record<string, TrainedFiles> = {};
  for (const index of spec.indexes) {
    if (!list.indexes.includes(index.name)) continue;
    const key = indexSetKeys.trained(spec.output, index.name);
    out[index.name] = {
      index: await storage.localPath(key),
      centroids: index.dualView ? await storage.localPath(indexSetKeys.centroids(spec.output, index.name)) : null,
    };
  }
  return out;
}

/** The model folder, or a fatal task error: retrying cannot make a missing model appear. */
async function modelFolder(storage: Storage, key: string, localDir: string): Promise<{ dir: string; cacheKey: string }> {
  try {
    return await fetchModelFolder(storage, key, localDir);
  } catch (err) {
    if (err instanceof StorageError) throw new FatalTaskError(err.message, { cause: err });
    throw err;
  }
}

type MineSpec = Extract<TaskMessage['spec'], { kind: 'mine' }>;

/** Deterministic keys of a mine job's intermediate files (a rerun overwrites its own). */
const mineFiles = {
  stats: (shardId: number) => `shard-${shardName(shardId)}.json`,
  candidates: (shardId: number) => `shard-${shardName(shardId)}.arrow`,
  queries: 'query-vectors.npy',
};
export const mineKeys = {
  stats: (output: string, shardId: number) => joinKey(output, 'stats', mineFiles.stats(shardId)),
  candidates: (output: string, shardId: number) => joinKey(output, 'candidates', mineFiles.candidates(shardId)),
  queries: (output: string) => joinKey(output, 'queries', mineFiles.queries),
};

/** A local copy of a set's file after its SHA-256 matched the manifest's (query and qrels files record no size). */
async function checkedFile(storage: Storage, setKey: string, path: string, expected: string): Promise<string> {
  const local = await storage.localPath(joinKey(setKey, path));
  const actual = await sha256(local);
  if (actual.sha256 !== expected) throw new FatalTaskError(`${path} of ${setKey} does not match its manifest's sha256`, { file: joinKey(setKey, path) });
  return local;
}

async function minePoolTask(storage: Storage, task: TaskMessage, spec: MineSpec, work: string): Promise<{ poolTask: PoolTask; publishUnder: string }> {
  const passages = await readSetManifest(storage, spec.queries.passages, 'passages');
  const qrels = passages.qrels?.splits[spec.queries.split];
  if (!passages.queries || !qrels)
    throw new FatalTaskError(`passage set ${spec.queries.passages} has no queries with qrels for split "${spec.queries.split}"`, { field: 'queries.split' });
  const queriesFile = await checkedFile(storage, spec.queries.passages, passages.queries.path, passages.queries.sha256);
  const qrelsFile = await checkedFile(storage, spec.queries.passages, qrels.path, qrels.sha256);
  const set = await readSetManifest(storage, spec.input, 'indexes');
  const shard = set.shards.find((s) => s.id === task.shardId);
  const bm25Dir = async () => {
    if (!shard) throw new FatalTaskError(`index set ${spec.input} has no shard ${task.shardId}`);
    const files = shard.files.filter((f) => f.role === 'bm25');
    if (files.length === 0) throw new FatalTaskError(`shard ${task.shardId} of ${spec.input} has no BM25 index`);
    for (const file of files) await verifiedFile(storage, spec.input, file);
    const dir = join(work, 'bm25');
    await linkFiles(
      storage,
      files.map((f) => ({ key: joinKey(spec.input, f.path), name: f.path.split('/').pop()! })),
      dir,
    );
    return dir;
  };
  if (task.stage === 'stats') {
    return {
      poolTask: { stage: 'stats', bm25Dir: await bm25Dir(), queriesFile, qrelsFile, outFile: join(work, mineFiles.stats(task.shardId)) },
      publishUnder: joinKey(spec.output, 'stats'),
    };
  }
  if (task.stage === 'queries') {
    if (spec.source.kind !== 'dense' || !set.embeddings)
      throw new FatalTaskError('only dense mining encodes its queries first, with the embedding set’s encoder');
    return {
      poolTask: {
        stage: 'queries',
        queriesFile,
        qrelsFile,
        encoder: await queryEncoderFiles(storage, set.embeddings, join(work, 'model')),
        outFile: join(work, mineFiles.queries),
      },
      publishUnder: joinKey(spec.output, 'queries'),
    };
  }
  if (task.stage === 'mine') {
    let source: Extract<PoolTask, { stage: 'mine' }>['source'];
    if (spec.source.kind === 'bm25') {
      const statsFiles = await Promise.all(set.shards.map((s) => storage.localPath(mineKeys.stats(spec.output, s.id))));
      source = { kind: 'bm25', bm25Dir: await bm25Dir(), statsFiles };
    } else {
      const name = spec.source.index;
      const file = shard?.files.find((f) => f.role === `faiss:${name}`);
      if (!file || !set.embeddings) throw new FatalTaskError(`shard ${task.shardId} of ${spec.input} has no index "${name}" or no embedding set`);
      // Searched as it is served: the job's nprobe, else the index set's serving nprobe.
      const nprobe = spec.source.nprobe ?? set.indexes.find((i) => i.name === name)?.nprobe;
      source = {
        kind: 'dense',
        indexFile: await verifiedFile(storage, spec.input, file),
        embeddingFile: await shardFile(storage, set.embeddings, 'embeddings', task.shardId),
        queryVectorsFile: await storage.localPath(mineKeys.queries(spec.output)),
        ...(nprobe ? { nprobe } : {}),
        ...(spec.source.efSearch ? { efSearch: spec.source.efSearch } : {}),
      };
    }
    // The passages the index was built from: the BM25 set's, else the embedding set's.
    const passageSet = set.bm25?.passages ?? (set.embeddings ? (await readSetManifest(storage, set.embeddings, 'embeddings')).passages : null);
    const passageFile = spec.filter.answers && passageSet ? await shardFile(storage, passageSet, 'passages', task.shardId) : null;
    return {
      poolTask: {
        stage: 'mine',
        shardId: task.shardId,
        queriesFile,
        qrelsFile,
        k: spec.k,
        passageFile,
        source,
        outFile: join(work, mineFiles.candidates(task.shardId)),
      },
      publishUnder: joinKey(spec.output, 'candidates'),
    };
  }
  const candidateFiles = await Promise.all(set.shards.map((s) => storage.localPath(mineKeys.candidates(spec.output, s.id))));
  const source = spec.source.kind === 'bm25' ? 'bm25' : `dense:${spec.source.index}`;
  return {
    poolTask: {
      stage: 'merge',
      candidateFiles,
      queriesFile,
      qrelsFile,
      k: spec.k,
      filter: spec.filter,
      provenance: { stage: spec.stage, source, checkpoint: spec.checkpoint?.id ?? null, step: spec.checkpoint?.step ?? null },
      outFile: join(work, 'negatives.arrow'),
      accountFile: join(work, 'account.json'),
    },
    publishUnder: spec.output,
  };
}

/** The encoder that made an embedding set, as files a pool thread opens: its query tower encodes the queries. */
async function queryEncoderFiles(storage: Storage, embeddingsKey: string, localDir: string): Promise<EncoderFiles> {
  const manifest = await readSetManifest(storage, embeddingsKey, 'embeddings');
  const encoder = manifest.encoder as { kind: string; path?: string; batchSize?: number };
  if (encoder.kind === 'hashed-tfidf') {
    return {
      kind: 'hashed-tfidf',
      modelConfig: await storage.localPath(joinKey(embeddingsKey, 'model', 'encoder.json')),
      modelIdf: await storage.localPath(joinKey(embeddingsKey, 'model', 'idf.f32')),
    };
  }
  if (encoder.kind === 'model' && encoder.path)
    return { kind: 'model', ...(await modelFolder(storage, encoder.path, localDir)), batchSize: encoder.batchSize ?? 256 };
  throw new FatalTaskError(`embedding set ${embeddingsKey} does not name its encoder`, { file: joinKey(embeddingsKey, 'manifest.json'), field: 'encoder' });
}
