import { EMBEDDING_FORMAT, readEmbeddingLayout } from '../../encoder/index.js';
import { EMBEDDING_SET_FORMAT, readSetManifest } from '../../shards/index.js';
import { defineJobKind, relativeTo, rowCounts, tasksOfStage } from '../stage.js';
import { encodeStage } from './encode.js';
import { fitKeys, fitStage } from './fit.js';

/*
 * encode job: a passage shard set → an embedding shard set (the input of an
 * index job), one embedding shard per passage shard. The hashed TF-IDF
 * baseline fits its IDF first (fit.ts); a trained model encodes at once.
 */
export const encodeJob = defineJobKind<'encode'>({
  kind: 'encode',
  stages: [fitStage, encodeStage],
  inputs: (spec) => [spec.input],
  storageKeys: (spec) => [
    ['output', spec.output],
    ['input', spec.input],
    ...(spec.encoder.kind === 'model' ? [['encoder.path', spec.encoder.path] as [string, string]] : []),
  ],
  outputFormat: EMBEDDING_SET_FORMAT,
  async manifest(storage, job, allTasks) {
    const spec = job.spec;
    const tasks = tasksOfStage(allTasks, 'encode');
    const passages = await readSetManifest(storage, spec.input, 'passages');
    const firstRow = new Map(passages.shards.map((s) => [s.id, s.firstRowId]));
    // Dimension and views as written (a model's come from its weights, not the job spec).
    const first = tasks[0]?.outputs.find((o) => o.role === 'embeddings');
    const layout = first ? readEmbeddingLayout(await storage.localPath(first.key)) : { dim: 0, views: [] as string[], metadata: {} };
    return {
      format: EMBEDDING_FORMAT,
      ...rowCounts(job.id, tasks),
      passages: spec.input,
      encoder: spec.encoder.kind === 'hashed-tfidf' ? { ...spec.encoder, model: fitKeys.config(spec.output) } : { ...spec.encoder, written: layout.metadata },
      dim: layout.dim,
      views: layout.views,
      dtype: spec.dtype,
      shards: tasks.map((t) => {
        const file = t.outputs.find((o) => o.role === 'embeddings')!;
        return {
          id: t.shardId,
          path: relativeTo(spec.output, file.key),
          rows: t.rowsWritten,
          sha256: file.sha256,
          bytes: file.bytes,
          firstRowId: firstRow.get(t.shardId) ?? 0,
        };
      }),
    };
  },
});
