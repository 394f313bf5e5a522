import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { fetchModelFolder, joinKey, StorageError, type Storage } from '../storage/index.js';
import { shardFile } from '../shards/index.js';
import { FatalTaskError, type TaskMessage, type TaskOutput } from '../jobs/index.js';
import type { PoolResult, PoolTask, ProgressMessage } from './tasks/types.js';
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
        bm25: spec.bm25 ? { k1: spec.bm25.k1, b: spec.bm25.b } : null,
        workDir: work,
      };
      publishUnder = joinKey(spec.output, `shard-${shardName(shardId)}`);
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

/** The model folder, or a fatal task error: retrying cannot make a missing model appear. */
async function modelFolder(storage: Storage, key: string, localDir: string): Promise<{ dir: string; cacheKey: string }> {
  try {
    return await fetchModelFolder(storage, key, localDir);
  } catch (err) {
    if (err instanceof StorageError) throw new FatalTaskError(err.message, { cause: err });
    throw err;
  }
}
