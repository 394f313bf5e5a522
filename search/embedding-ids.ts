import { ArrowRowReader, shardFile } from '../shards/index.js';
import type { Storage } from '../storage/index.js';

/**
 * Row ids and external ids of one embedding shard: only those two columns are read (the vectors beside
 * them stay on disk), batch by batch.
 */
export async function readEmbeddingIds(storage: Storage, embeddingsKey: string, shardId: number): Promise<{ rowIds: BigInt64Array; externalIds: string[] }> {
  const reader = ArrowRowReader.open(await shardFile(storage, embeddingsKey, 'embeddings', shardId));
  try {
    const rowIds = new BigInt64Array(reader.rows);
    let at = 0;
    for (const batch of reader.int64Column('rowId')) {
      rowIds.set(batch, at);
      at += batch.length;
    }
    const externalIds: string[] = [];
    for (const batch of reader.utf8Column('externalId')) for (const id of batch) externalIds.push(id);
    return { rowIds, externalIds };
  } finally {
    reader.close();
  }
}
