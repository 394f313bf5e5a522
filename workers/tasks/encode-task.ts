import { EmbeddingShardWriter, hashedTextEncoder, loadModel, loadTfBackend, openTextEncoder, type TextEncoder } from '../../encoder/index.js';
import type { PoolResult, PoolTask } from './types.js';
import { passageText, passagesOf } from './passages.js';
import type { TaskCancel } from '../cancel-flag.js';

type EncodeTask = Extract<PoolTask, { stage: 'encode' }>;

/*
 * Encode, per shard: passages → one embedding shard. A two-tower model writes
 * both views of every passage (embedding_q = f_q, embedding_i = f_i, for
 * dual-view indexing); one tower writes `embedding`. A trained model is
 * loaded once per pool thread and kept while tasks use the same weights.
 */

let cached: { key: string; encoder: Promise<TextEncoder> } | null = null;

export async function encoderFor(spec: EncodeTask['encoder']): Promise<TextEncoder> {
  if (spec.kind === 'hashed-tfidf') return hashedTextEncoder(loadModel(spec.modelConfig, spec.modelIdf));
  if (cached?.key !== spec.cacheKey) {
    const previous = cached;
    cached = {
      key: spec.cacheKey,
      encoder: (async () => {
        const { tf } = await loadTfBackend('auto');
        return openTextEncoder(tf, spec.dir, { batchSize: spec.batchSize });
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

export async function runEncode(task: EncodeTask, cancel?: TaskCancel): Promise<PoolResult> {
  const encoder = await encoderFor(task.encoder);
  const views = encoder.towers === 'separate' ? ['embedding_q', 'embedding_i'] : ['embedding'];
  const writer = new EmbeddingShardWriter(task.outFile, encoder.dim, views, encoder.description);
  let rows = 0;
  let rowIds: number[] = [];
  let externalIds: string[] = [];
  let texts: string[] = [];
  const flush = () => {
    // Between batches: a cancelled task stops here, and its partial file is removed below.
    cancel?.throwIfCancelled();
    if (rowIds.length === 0) return;
    writer.write(
      rowIds,
      externalIds,
      encoder.towers === 'separate' ? [encoder.encode(texts, 'query'), encoder.encode(texts, 'item')] : [encoder.encode(texts, 'item')],
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
      if (rowIds.length >= task.batchRows) flush();
    }
    flush();
    writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return { rowsIn: rows, rowsWritten: rows, rowsRejected: 0, files: [{ path: task.outFile, role: 'embeddings', name: '' }] };
}
