import { readSetManifest } from '../shards/index.js';
import { joinKey, type Storage } from '../storage/index.js';
import type { IndexSpec } from '../jobs/index.js';
import { SearchUnavailableError } from './errors.js';

/** An index job's output manifest, as search reads it. */
export interface IndexSetManifest {
  format: string;
  jobId: string;
  rowsIn: number;
  embeddings: string | null;
  passages: string | null;
  indexes: IndexSpec[];
  bm25: { passages: string; k1: number; b: number } | null;
  shards: Array<{ id: number; rows: number; files: Array<{ role: string; path: string; sha256: string; bytes: number; buildMs?: number }> }>;
}

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
