import { JobError, type JobSpec, type StageName } from '../jobs/index.js';
import { readSetManifest } from '../shards/index.js';
import type { Storage } from '../storage/index.js';

/** The shard ids a stage runs over: those of its input set, read through the set's contract. */
export async function shardIdsOf(storage: Storage, spec: JobSpec, stage: StageName): Promise<number[]> {
  if (spec.kind === 'mine') {
    const set = await readSetManifest(storage, spec.input, 'indexes');
    if (spec.source.kind === 'bm25' && !set.bm25) throw new JobError(`index set ${spec.input} has no BM25 index to mine with`, { field: 'source' });
    if (spec.source.kind === 'dense') {
      const name = spec.source.index;
      if (!set.indexes.some((i) => i.name === name))
        throw new JobError(`index set ${spec.input} has no dense index "${name}" (it has: ${set.indexes.map((i) => i.name).join(', ') || 'none'})`, {
          field: 'source.index',
        });
      if (!set.embeddings) throw new JobError(`index set ${spec.input} names no embedding set, so no query encoder`, { field: 'input' });
    }
    // The query encoding and the merge are one task each (over every shard's candidates, for the merge).
    if (stage === 'queries' || stage === 'merge') return [0];
    return set.shards.map((s) => s.id);
  }
  if (spec.kind === 'index' && (stage === 'sample' || stage === 'train')) {
    if (!spec.input) throw new JobError('a shared quantizer is trained on an embedding set: give the job an input', { field: 'input' });
    const shards = (await readSetManifest(storage, spec.input, 'embeddings')).shards;
    // One training task over every shard's sample.
    return stage === 'train' ? [0] : shards.map((s) => s.id);
  }
  if (spec.kind === 'index' && stage === 'group') {
    if (!spec.graphGroups || !spec.input) throw new JobError('a group stage needs the job’s graphGroups option and an embedding set', { field: 'graphGroups' });
    const shards = (await readSetManifest(storage, spec.input, 'embeddings')).shards.length;
    if (spec.graphGroups.groups > shards)
      throw new JobError(`graphGroups: ${spec.graphGroups.groups} groups of ${shards} shards (a group holds whole shards)`, { field: 'graphGroups.groups' });
    return Array.from({ length: spec.graphGroups.groups }, (_, g) => g);
  }
  if (spec.kind === 'index' && stage === 'route') {
    if (!spec.routed) throw new JobError('a route stage needs the job’s routed option', { field: 'routed' });
    return Array.from({ length: spec.routed.partitions }, (_, p) => p);
  }
  if (stage === 'index' && spec.kind === 'index') {
    const manifest = spec.input ? await readSetManifest(storage, spec.input, 'embeddings') : await readSetManifest(storage, spec.bm25!.passages, 'passages');
    return manifest.shards.map((s) => s.id);
  }
  return (await readSetManifest(storage, spec.input!, 'passages')).shards.map((s) => s.id);
}
