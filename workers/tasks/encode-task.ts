import { EmbeddingShardWriter, HashedTfidfEncoder, loadModel } from '../../encoder/index.js';
import type { PoolResult, PoolTask } from './types.js';
import { passageText, passagesOf } from './passages.js';

/** Encode, per shard: passages → one embedding shard (the baseline encoder). */
export async function runEncode(task: Extract<PoolTask, { stage: 'encode' }>): Promise<PoolResult> {
  const encoder = new HashedTfidfEncoder(loadModel(task.modelConfig, task.modelIdf));
  const writer = new EmbeddingShardWriter(task.outFile, encoder.dim, ['embedding'], { 'sci.encoder': 'hashed-tfidf' });
  let rows = 0;
  let rowIds: number[] = [];
  let externalIds: string[] = [];
  let texts: string[] = [];
  const flush = () => {
    if (rowIds.length === 0) return;
    writer.write(rowIds, externalIds, [encoder.encode(texts)]);
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
