import { SciClusterError } from '../common/index.js';
import { checkFactoryLimits } from '../faiss/index.js';
import { JobError, type JobSpec } from '../jobs/index.js';
import { readSetManifest } from '../shards/index.js';
import { jobKindOf } from '../stages/index.js';
import { joinKey, MODEL_FOLDER_MARKERS, type Storage } from '../storage/index.js';

/*
 * What a job spec asks, checked against what it reads before anything is
 * planned: every input set exists; the output is none of the inputs, holds
 * none of them, and holds no set of another kind (its manifest would be
 * overwritten); every index's factory parameters fit FACTORY_LIMITS and the
 * rows it trains on. A job refused here costs nothing; the same job accepted
 * would be redelivered to every worker in turn, each failing (or being
 * OOM-killed) the same way.
 */

/** Every storage key a spec names, with its field (its job kind's list, stages/registry.ts). */
export function storageKeysOf(spec: JobSpec): Array<[string, string]> {
  return jobKindOf(spec).storageKeys(spec);
}

const within = (key: string, folder: string) => key === folder || key.startsWith(`${folder}/`);

export async function checkSpecAgainstInputs(spec: JobSpec, storage: Storage): Promise<void> {
  for (const key of jobKindOf(spec).inputs(spec)) {
    if (!(await storage.exists(joinKey(key, 'manifest.json')))) throw new JobError(`no shard set at ${key} (manifest.json missing)`, { file: key });
  }
  if (spec.kind === 'encode' && spec.encoder.kind === 'model') await checkModelFolder(spec.encoder.path, storage);
  checkOutputPlace(spec);
  await checkOutputManifest(spec, storage);
  if (spec.kind === 'index' && spec.input) await checkIndexFactories(spec, spec.input, storage);
}

/** A model folder the workers can load: a checkpoint's model card, an ONNX export's model.onnx or a TensorFlow.js model.json. */
async function checkModelFolder(path: string, storage: Storage): Promise<void> {
  for (const file of MODEL_FOLDER_MARKERS) if (await storage.exists(joinKey(path, file))) return;
  throw new JobError(`encoder.path ${path} is no model folder (none of ${MODEL_FOLDER_MARKERS.join(', ')} in it)`, {
    field: 'encoder.path',
    file: path,
  });
}

function checkOutputPlace(spec: JobSpec): void {
  for (const [field, key] of storageKeysOf(spec)) {
    if (field === 'output') continue;
    if (within(key, spec.output))
      throw new JobError(`output ${spec.output} ${key === spec.output ? 'is' : 'holds'} the job's ${field} (${key}): the job would write over what it reads`, {
        field: 'output',
      });
  }
}

/** An output folder that already holds a set of another kind is refused (a rerun into its own kind's set is fine). */
async function checkOutputManifest(spec: JobSpec, storage: Storage): Promise<void> {
  const key = joinKey(spec.output, 'manifest.json');
  if (!(await storage.exists(key))) return;
  let format: unknown;
  try {
    format = (JSON.parse(await storage.readText(key)) as { format?: unknown } | null)?.format;
  } catch {
    format = undefined;
  }
  if (format !== jobKindOf(spec).outputFormat)
    throw new JobError(
      `output ${spec.output} holds a set of another kind (${typeof format === 'string' ? format : 'unreadable manifest'}): a ${spec.kind} job would overwrite its manifest`,
      { field: 'output', file: key },
    );
}

async function checkIndexFactories(spec: Extract<JobSpec, { kind: 'index' }>, input: string, storage: Storage): Promise<void> {
  let manifest;
  try {
    manifest = await readSetManifest(storage, input, 'embeddings');
  } catch (err) {
    throw new JobError(`input ${input}: ${(err as Error).message}`, { field: 'input', cause: err });
  }
  const shardRows = manifest.shards.map((s) => s.rows);
  const totalRows = shardRows.reduce((sum, n) => sum + n, 0);
  // Each shard trains its own index on its rows, or one shared quantizer trains on the pooled sample.
  const trainingRows = spec.sharedQuantizer ? Math.min(spec.sharedQuantizer.sampleRows, totalRows) : Math.min(...shardRows.filter((n) => n > 0));
  spec.indexes.forEach((index, i) => {
    try {
      checkFactoryLimits(index.factory, index.metric, manifest.dim, trainingRows);
    } catch (err) {
      if (!(err instanceof SciClusterError)) throw err;
      throw new JobError(`indexes.${i}.factory: ${err.message}`, { field: `indexes.${i}.factory`, cause: err });
    }
  });
}
