import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { joinKey, type Storage } from '../storage/index.js';
import { SearchUnavailableError } from './errors.js';

/** Row ids and external ids of one embedding shard (the columns next to the vectors). */
export async function readEmbeddingIds(storage: Storage, embeddingsKey: string, shardId: number): Promise<{ rowIds: BigInt64Array; externalIds: string[] }> {
  const manifest = JSON.parse(await storage.readText(joinKey(embeddingsKey, 'manifest.json'))) as { shards: Array<{ id: number; path: string }> };
  const shard = manifest.shards.find((s) => s.id === shardId);
  if (!shard) throw new SearchUnavailableError(`embedding set ${embeddingsKey} has no shard ${shardId}`);
  const table = tableFromIPC(readFileSync(await storage.localPath(joinKey(embeddingsKey, shard.path))));
  const rowIds = BigInt64Array.from(table.getChild('rowId')!.toArray() as BigInt64Array);
  const externalIds = table.getChild('externalId')!.toArray() as string[];
  return { rowIds, externalIds: Array.from(externalIds) };
}
