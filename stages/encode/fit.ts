import { join } from 'node:path';
import { DfCounter, fitModel, readDf, saveModel, writeDf } from '../../encoder/index.js';
import { FatalTaskError, JobError, type TaskRecord } from '../../jobs/index.js';
import { readSetManifest, shardFile } from '../../shards/index.js';
import { joinKey, type Storage } from '../../storage/index.js';
import { defineStage, shardName, type JobSpecOf, type PoolResult, type PoolTask } from '../stage.js';
import { passageText, passagesOf } from '../passages.js';

/*
 * encode job, stage 1 of 2 (the hashed TF-IDF baseline only; a trained model
 * needs no corpus statistics): every shard counts the document frequency of
 * each hashed term; once all are done, the counts are merged into the
 * corpus-wide model (IDF table and config) under the job's output, which the
 * encode stage then reads.
 */

export interface FitTask extends PoolTask {
  stage: 'fit';
  passageFile: string;
  buckets: number;
  outFile: string;
}

/** The fitted model's files under the job's output. */
export const fitKeys = {
  config: (output: string) => joinKey(output, 'model', 'encoder.json'),
  idf: (output: string) => joinKey(output, 'model', 'idf.f32'),
};

export const fitStage = defineStage<'encode', FitTask>({
  name: 'fit',
  job: 'encode',
  runsIn: (spec) => spec.encoder.kind === 'hashed-tfidf',
  shardIds: async (storage, spec) => (await readSetManifest(storage, spec.input, 'passages')).shards.map((s) => s.id),
  async prepare({ storage, task, spec, work }) {
    if (spec.encoder.kind !== 'hashed-tfidf') throw new FatalTaskError(`a ${spec.encoder.kind} encoder has no fit stage`);
    return {
      poolTask: {
        stage: 'fit',
        passageFile: await shardFile(storage, spec.input, 'passages', task.shardId),
        buckets: spec.encoder.buckets,
        outFile: join(work, `df-${shardName(task.shardId)}.bin`),
      },
      publishUnder: joinKey(spec.output, 'fit'),
    };
  },
  async run(task, cancel): Promise<PoolResult> {
    const counter = new DfCounter(task.buckets);
    for await (const p of passagesOf(task.passageFile)) {
      counter.add(passageText(p));
      if (counter.docs % 5000 === 0) {
        cancel?.throwIfCancelled();
        task.progress?.postMessage({ rows: counter.docs, total: 0 });
      }
    }
    writeDf(task.outFile, counter);
    return { rowsIn: counter.docs, rowsWritten: counter.docs, rowsRejected: 0, files: [{ path: task.outFile, role: 'df', name: '' }] };
  },
  after: (storage, spec, tasks) => mergeFitOutputs(storage, spec, tasks),
});

/** Every shard's document frequencies merged into the corpus-wide model, published next to the job's output. */
async function mergeFitOutputs(storage: Storage, spec: JobSpecOf<'encode'>, tasks: readonly TaskRecord[]): Promise<void> {
  if (spec.encoder.kind !== 'hashed-tfidf') return;
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
    await storage.publish(files.idf, fitKeys.idf(spec.output));
    await storage.publish(files.config, fitKeys.config(spec.output));
  } finally {
    await storage.cleanup(dir);
  }
}
