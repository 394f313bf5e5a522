import { join } from 'node:path';
import { EmbeddingShardWriter, hashedTextEncoder, loadModel, openTextEncoder, type EncoderSettings, type TextEncoder } from '../../encoder/index.js';
import type { Logger } from '../../common/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import { readSetManifest, shardFile } from '../../shards/index.js';
import { fetchModelFolder, joinKey, StorageError, type Storage } from '../../storage/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { passageText, passagesOf } from '../passages.js';
import { defineStage, shardName, type PoolResult, type PoolTask } from '../stage.js';
import { fitKeys } from './fit.js';

/*
 * encode job, its last stage: passages → one embedding shard per shard. A
 * two-tower model writes both views of every passage (embedding_q = f_q,
 * embedding_i = f_i, for dual-view indexing); one tower writes `embedding`.
 * A trained model is loaded once per pool thread and kept while tasks use
 * the same weights.
 */

/** How a task encodes texts: the baseline's fitted files, or a local model folder (`cacheKey` identifies its weights). */
export type EncoderFiles =
  { kind: 'hashed-tfidf'; modelConfig: string; modelIdf: string } | { kind: 'model'; dir: string; cacheKey: string; batchSize: number };

export interface EncodeTask extends PoolTask {
  stage: 'encode';
  passageFile: string;
  encoder: EncoderFiles;
  outFile: string;
  batchRows: number;
  /** Stored value type (the job spec's dtype). */
  dtype: 'f32' | 'f16';
}

let cached: { key: string; encoder: Promise<TextEncoder> } | null = null;

/** This pool thread's engine settings (config workers.encoder) and where it logs what it opened, set once from piscina's workerData. */
let encoderSettings: EncoderSettings = {};
let encoderLogger: Logger | undefined;
export function setEncoderSettings(settings: EncoderSettings, logger?: Logger): void {
  encoderSettings = settings;
  encoderLogger = logger;
}

export async function encoderFor(spec: EncoderFiles): Promise<TextEncoder> {
  if (spec.kind === 'hashed-tfidf') return hashedTextEncoder(loadModel(spec.modelConfig, spec.modelIdf));
  if (cached?.key !== spec.cacheKey) {
    const previous = cached;
    cached = {
      key: spec.cacheKey,
      encoder: (async () => {
        return openTextEncoder(spec.dir, { ...encoderSettings, batchSize: spec.batchSize, ...(encoderLogger ? { logger: encoderLogger } : {}) });
      })(),
    };
    cached.encoder.catch(() => (cached = null));
    previous?.encoder.then(
      (e) => e.dispose(),
      () => {},
    );
  }
  return cached!.encoder;
}

async function runEncode(task: EncodeTask, cancel?: TaskCancel): Promise<PoolResult> {
  const encoder = await encoderFor(task.encoder);
  const views = encoder.towers === 'separate' ? ['embedding_q', 'embedding_i'] : ['embedding'];
  const writer = new EmbeddingShardWriter(task.outFile, encoder.dim, views, encoder.description, task.dtype ?? 'f32');
  let rows = 0;
  let rowIds: number[] = [];
  let externalIds: string[] = [];
  let texts: string[] = [];
  const flush = async () => {
    // Between batches: a cancelled task stops here, and its partial file is removed below.
    cancel?.throwIfCancelled();
    if (rowIds.length === 0) return;
    writer.write(
      rowIds,
      externalIds,
      encoder.towers === 'separate' ? [await encoder.encode(texts, 'query'), await encoder.encode(texts, 'item')] : [await encoder.encode(texts, 'item')],
    );
    rows += rowIds.length;
    task.progress?.postMessage({ rows, total: 0 });
    rowIds = [];
    externalIds = [];
    texts = [];
  };
  try {
    for await (const p of passagesOf(task.passageFile)) {
      rowIds.push(p.rowId);
      externalIds.push(p.externalId);
      texts.push(passageText(p));
      if (rowIds.length >= task.batchRows) await flush();
    }
    await flush();
    writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files: [{ path: task.outFile, role: 'embeddings', name: '' }] };
}

export const encodeStage = defineStage<'encode', EncodeTask>({
  name: 'encode',
  job: 'encode',
  shardIds: async (storage, spec) => (await readSetManifest(storage, spec.input, 'passages')).shards.map((s) => s.id),
  async prepare({ storage, task, spec, work }) {
    const passageFile = await shardFile(storage, spec.input, 'passages', task.shardId);
    const encoder: EncoderFiles =
      spec.encoder.kind === 'hashed-tfidf'
        ? {
            kind: 'hashed-tfidf',
            modelConfig: await storage.localPath(fitKeys.config(spec.output)),
            modelIdf: await storage.localPath(fitKeys.idf(spec.output)),
          }
        : { kind: 'model', ...(await modelFolder(storage, spec.encoder.path, join(work, 'model'))), batchSize: spec.encoder.batchSize };
    return {
      poolTask: {
        stage: 'encode',
        passageFile,
        encoder,
        outFile: join(work, `embeddings-${shardName(task.shardId)}.arrow`),
        batchRows: 512,
        dtype: spec.dtype,
      },
      publishUnder: spec.output,
    };
  },
  run: runEncode,
});

/** The model folder, or a fatal task error: retrying cannot make a missing model appear. */
export async function modelFolder(storage: Storage, key: string, localDir: string): Promise<{ dir: string; cacheKey: string }> {
  try {
    return await fetchModelFolder(storage, key, localDir);
  } catch (err) {
    if (err instanceof StorageError) throw new FatalTaskError(err.message, { cause: err });
    throw err;
  }
}

/** The encoder that made an embedding set, as files a pool thread opens (its query tower encodes queries). */
export async function encoderOfSet(storage: Storage, embeddingsKey: string, localDir: string): Promise<EncoderFiles> {
  const manifest = await readSetManifest(storage, embeddingsKey, 'embeddings');
  const encoder = manifest.encoder as { kind: string; path?: string; batchSize?: number };
  if (encoder.kind === 'hashed-tfidf') {
    return {
      kind: 'hashed-tfidf',
      modelConfig: await storage.localPath(fitKeys.config(embeddingsKey)),
      modelIdf: await storage.localPath(fitKeys.idf(embeddingsKey)),
    };
  }
  if (encoder.kind === 'model' && encoder.path)
    return { kind: 'model', ...(await modelFolder(storage, encoder.path, localDir)), batchSize: encoder.batchSize ?? 256 };
  throw new FatalTaskError(`embedding set ${embeddingsKey} does not name its encoder`, { file: joinKey(embeddingsKey, 'manifest.json'), field: 'encoder' });
}
