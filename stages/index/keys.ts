import { FaissInvalidArgumentError } from '../../faiss/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import { TrainedListSchema } from '../../shards/index.js';
import { joinKey, readJson, type Storage } from '../../storage/index.js';
import { MissingVectorColumnError, readArrowVectors } from '../../vectors/index.js';
import { shardName, type JobSpecOf } from '../stage.js';

/*
 * What the stages of an index job share: where each stage's files live
 * under the index set, the shared quantizer's trained files, and which
 * embedding columns are the passages' two views.
 */

export type IndexJobSpec = JobSpecOf<'index'>;
/** An index job with a shared quantizer (its sample, train and route stages need one). */
export type QuantizerSpec = IndexJobSpec & { input: string; sharedQuantizer: NonNullable<IndexJobSpec['sharedQuantizer']> };

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

/** A shared quantizer's files for one index: the trained, empty index, and for a dual-view index its coarse centroids (.npy). */
export interface TrainedFiles {
  index: string;
  centroids: string | null;
}

/** This job's train stage's files for each index it trained (indexes that need no training have none). */
export async function trainedFiles(storage: Storage, spec: IndexJobSpec, jobId: string): Promise<Record<string, TrainedFiles>> {
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

/** An index job with a shared quantizer and an embedding set, or a fatal error naming the stage that needs them. */
export function quantizerSpec(spec: IndexJobSpec, stage: string): QuantizerSpec {
  if (!spec.sharedQuantizer || !spec.input) throw new FatalTaskError(`stage ${stage} needs an index job with a shared quantizer and an embedding set`);
  return spec as QuantizerSpec;
}

/** The passages' vectors: the one-tower column, or the item tower's view f_i of a two-tower encoder. */
export const ITEM_VIEW_COLUMNS = ['embedding', 'embedding_i'] as const;

/** A dual-view index asked of a one-tower embedding set. */
export const oneTowerSetError = () =>
  new FaissInvalidArgumentError('a dual-view index needs a two-tower embedding set (embedding_q and embedding_i columns)', { field: 'dualView' });

/** The passages in the query tower's view (a two-tower encoder's `embedding_q`), or null for a one-tower set. */
export function queryViewOf(file: string): Float32Array | null {
  try {
    return readArrowVectors(file, 'embedding_q').data;
  } catch (err) {
    if (err instanceof MissingVectorColumnError) return null;
    throw err;
  }
}
