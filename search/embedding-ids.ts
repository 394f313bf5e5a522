import { shardFile } from '../shards/index.js';
import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import type { Storage } from '../storage/index.js';

/** Row ids and external ids of one embedding shard (the columns next to the vectors). */
export async function readEmbeddingIds(storage: Storage, embeddingsKey: string, shardId: number): Promise<{ rowIds: BigInt64Array; externalIds: string[] }> {
  const table = tableFromIPC(readFileSync(await shardFile(storage, embeddingsKey, 'embeddings', shardId)));
  const rowIds = BigInt64Array.from(table.getChild('rowId')!.toArray() as BigInt64Array);
  const externalIds = table.getChild('externalId')!.toArray() as string[];
  return { rowIds, externalIds: Array.from(externalIds) };
}
