import { join } from 'node:path';
import { mixSeed, reservoirSample, seededRandom } from '../../common/index.js';
import { FatalTaskError, JobError, shardSampleRows } from '../../jobs/index.js';
import { readSetManifest, shardFile } from '../../shards/index.js';
import { joinKey, type Storage } from '../../storage/index.js';
import { readArrowVectors, writeNpy } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { defineStage, shardName, type PoolResult, type PoolTask } from '../stage.js';
import { ITEM_VIEW_COLUMNS, queryViewOf, quantizerSpec } from './keys.js';

/*
 * A shared quantizer (the index job's sharedQuantizer) is two stages before
 * the shards' indexes: every shard draws a seeded uniform sample of its rows
 * (this stage), then one task trains each index that needs training on the
 * pooled samples (train.ts) and writes it trained and empty; every shard's
 * index stage fills a copy of it (shard-index.ts).
 */

/** A seeded uniform sample of one shard's rows, both views where the set has two. */
export interface SampleTask extends PoolTask {
  stage: 'sample';
  shardId: number;
  embeddingFile: string;
  rows: number;
  seed: number;
  workDir: string;
}

/** Whether an index job trains once for the whole set (the sample and train stages run). */
export const trainsSharedQuantizer = (spec: { sharedQuantizer: unknown; input: string | null; indexes: unknown[] }) =>
  spec.sharedQuantizer !== null && spec.input !== null && spec.indexes.length > 0;

/** The shards of the embedding set a shared quantizer is trained on. */
export async function quantizerShards(storage: Storage, input: string | null) {
  if (!input) throw new JobError('a shared quantizer is trained on an embedding set: give the job an input', { field: 'input' });
  return (await readSetManifest(storage, input, 'embeddings')).shards;
}

/** Gathers the given rows of a row-major matrix. */
function rowsOf(data: Float32Array, dim: number, rows: readonly number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => out.set(data.subarray(row * dim, row * dim + dim), i * dim));
  return out;
}

/** One shard's sample: `rows` rows drawn by reservoir sampling (seeded by the job's seed and the shard), item view and query view. */
async function runSample(task: SampleTask, cancel?: TaskCancel): Promise<PoolResult> {
  const item = readArrowVectors(task.embeddingFile, ITEM_VIEW_COLUMNS);
  cancel?.throwIfCancelled();
  const rows = reservoirSample(item.count, task.rows, seededRandom(mixSeed(task.seed, task.shardId)));
  const files: PoolResult['files'] = [];
  const itemFile = join(task.workDir, 'item.npy');
  writeNpy(itemFile, rowsOf(item.data, item.dim, rows), item.dim);
  files.push({ path: itemFile, role: 'sample:item', name: `shard-${shardName(task.shardId)}.item.npy` });
  const query = queryViewOf(task.embeddingFile);
  if (query) {
    const queryFile = join(task.workDir, 'query.npy');
    writeNpy(queryFile, rowsOf(query, item.dim, rows), item.dim);
    files.push({ path: queryFile, role: 'sample:query', name: `shard-${shardName(task.shardId)}.query.npy` });
  }
  task.progress?.postMessage({ rows: item.count, total: item.count });
  return { rowsIn: item.count, rowsWritten: rows.length, rowsRejected: 0, files };
}

export const sampleStage = defineStage<'index', SampleTask>({
  name: 'sample',
  job: 'index',
  runsIn: trainsSharedQuantizer,
  shardIds: async (storage, spec) => (await quantizerShards(storage, spec.input)).map((s) => s.id),
  async prepare({ storage, task, spec: given, work }) {
    const spec = quantizerSpec(given, 'sample');
    const embeddings = await readSetManifest(storage, spec.input, 'embeddings');
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
  },
  run: runSample,
});
