import { z } from 'zod';
import { FaissIndex } from '../faiss/index.js';
import { verifiedFile } from '../shards/index.js';
import { joinKey, readJsonFile, sha256, type Storage } from '../storage/index.js';

/** A routed index's list placement file (the route stage's): each list's owning partition. */
const PlacementSchema = z.looseObject({ owner: z.array(z.number().int()), partitions: z.number().int().positive() });
import { SearchUnavailableError } from './errors.js';
import type { IndexSet } from './index-set.js';

/*
 * What a router needs to search a routed index set: per routed IVF index,
 * the shared quantizer (the job's trained, empty index: its coarse centroids
 * assign each query once) and the placement (which partition owns each
 * inverted list). Both are checked against the manifest before use.
 */

export interface RoutedIndex {
  quantizer: FaissIndex;
  /** Owner partition of each list. */
  owner: Int32Array;
  /** The nprobe a search without one uses (the manifest's serving nprobe, else the index's). */
  nprobe: number;
}

export type Routing = Map<string, RoutedIndex>;

export async function loadRouting(storage: Storage, set: IndexSet): Promise<Routing> {
  const routed = set.manifest.routed;
  const manifestFile = joinKey(set.key, 'manifest.json');
  if (!routed)
    throw new SearchUnavailableError(`index set ${set.key} has no routed partitions (build it with the index job's routed option)`, { file: manifestFile });
  const first = routed.parts.find((p) => p.id === 0);
  const out: Routing = new Map();
  for (const name of routed.indexes) {
    const spec = set.manifest.indexes.find((i) => i.name === name);
    if (!spec?.quantizer) throw new SearchUnavailableError(`routed index "${name}" has no shared quantizer in the manifest`, { file: manifestFile });
    const quantizerFile = await storage.localPath(joinKey(set.key, spec.quantizer.path));
    if ((await sha256(quantizerFile)).sha256 !== spec.quantizer.sha256)
      throw new SearchUnavailableError(`${spec.quantizer.path} does not match the manifest's sha256`, { file: joinKey(set.key, spec.quantizer.path) });
    const quantizer = await FaissIndex.load(quantizerFile);
    const placementEntry = first?.files.find((f) => f.role === `placement:${name}`);
    if (!placementEntry) throw new SearchUnavailableError(`routed partition 0 has no placement of "${name}"`, { file: manifestFile });
    const placement = readJsonFile(await verifiedFile(storage, set.key, placementEntry), PlacementSchema);
    const nlist = quantizer.info.nlist ?? 0;
    if (placement.owner.length !== nlist || placement.partitions !== routed.partitions || placement.owner.some((p) => !(p >= 0 && p < routed.partitions)))
      throw new SearchUnavailableError(`the placement of "${name}" does not fit ${nlist} lists on ${routed.partitions} partitions`, {
        file: joinKey(set.key, placementEntry.path),
      });
    out.set(name, { quantizer, owner: Int32Array.from(placement.owner), nprobe: spec.nprobe ?? quantizer.info.nprobe ?? 1 });
  }
  return out;
}
