import type { JobSpec, StageName } from '../jobs/index.js';
import { readSetManifest } from '../shards/index.js';
import type { Storage } from '../storage/index.js';

/** The shard ids a stage runs over: those of its input set, read through the set's contract. */
export async function shardIdsOf(storage: Storage, spec: JobSpec, stage: StageName): Promise<number[]> {
  if (stage === 'index' && spec.kind === 'index') {
    const manifest = spec.input ? await readSetManifest(storage, spec.input, 'embeddings') : await readSetManifest(storage, spec.bm25!.passages, 'passages');
    return manifest.shards.map((s) => s.id);
  }
  return (await readSetManifest(storage, spec.input!, 'passages')).shards.map((s) => s.id);
}
