import { fitModel, readDf, saveModel, type HashedTfidfModel } from '../encoder/index.js';
import { JobError, type JobSpec, type TaskRecord } from '../jobs/index.js';
import { joinKey, type Storage } from '../storage/index.js';

/**
 * Between the encoder's stages: merges every shard's document frequencies
 * into the corpus-wide model and publishes it next to the job's output.
 */
export async function mergeFitOutputs(storage: Storage, spec: JobSpec, tasks: readonly TaskRecord[]): Promise<HashedTfidfModel | null> {
  if (spec.kind !== 'encode' || spec.encoder.kind !== 'hashed-tfidf') return null;
  const parts = [];
  for (const task of tasks) {
    const df = task.outputs.find((o) => o.role === 'df');
    if (!df) throw new JobError(`fit task of shard ${task.shardId} has no df output`);
    parts.push(readDf(await storage.localPath(df.key)));
  }
  const model = fitModel(parts, spec.encoder);
  // Staged on the storage's own filesystem (not the OS temp folder): publishing renames within it.
  const dir = await storage.workDir(spec.output);
  try {
    const files = saveModel(dir, model);
    await storage.publish(files.idf, joinKey(spec.output, 'model', 'idf.f32'));
    await storage.publish(files.config, joinKey(spec.output, 'model', 'encoder.json'));
  } finally {
    await storage.cleanup(dir);
  }
  return model;
}
