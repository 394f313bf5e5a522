import { readSetManifest, type IndexSetManifestRead } from '../shards/index.js';
import { joinKey, type Storage } from '../storage/index.js';
import { SearchUnavailableError } from './errors.js';

/** An index job's output manifest, as search reads it (the contract is in shards/set-manifest.ts). */
export type IndexSetManifest = IndexSetManifestRead;

export interface IndexSet {
  key: string;
  manifest: IndexSetManifest;
  /** Index names searchable: the Faiss ones, plus "bm25" when built. */
  names: string[];
}

export async function openIndexSet(storage: Storage, key: string): Promise<IndexSet> {
  let manifest: IndexSetManifest;
  try {
    manifest = await readSetManifest(storage, key, 'indexes');
  } catch (err) {
    throw new SearchUnavailableError(`cannot read the index set at ${key}: ${(err as Error).message}`, { file: joinKey(key, 'manifest.json'), cause: err });
  }
  return { key, manifest, names: [...manifest.indexes.map((i) => i.name), ...(manifest.bm25 ? ['bm25'] : [])] };
}
