import { readIdColumns, shardFile } from '../shards/index.js';
import type { Storage } from '../storage/index.js';

/**
 * Row ids and external ids of one embedding shard: only those two columns are read (the vectors beside
 * them stay on disk), batch by batch.
 */
export async function readEmbeddingIds(storage: Storage, embeddingsKey: string, shardId: number): Promise<{ rowIds: BigInt64Array; externalIds: string[] }> {
  return readIdColumns(await shardFile(storage, embeddingsKey, 'embeddings', shardId));
}
