/*
 * Routed IVF: which serving partition owns each inverted list. Lists go,
 * largest first, to the partition holding the fewest entries so far (the
 * longest-processing-time rule: within 4/3 of the best balance), ties to the
 * lower list and partition id so every caller computes the same placement.
 */

export interface ListPlacement {
  partitions: number;
  /** Owner partition of each list. */
  owner: number[];
  /** Entries each partition holds. */
  load: number[];
}

export function placeLists(sizes: ArrayLike<number>, partitions: number): ListPlacement {
  if (!Number.isInteger(partitions) || partitions <= 0) throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  const order = Array.from({ length: sizes.length }, (_, l) => l).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const owner = new Array<number>(sizes.length).fill(0);
  const load = new Array<number>(partitions).fill(0);
  const lists = new Array<number>(partitions).fill(0);
  for (const l of order) {
    let best = 0;
    // Fewest entries; among equals (empty lists, a cold start) fewest lists, so lists spread out too.
    for (let p = 1; p < partitions; p++) if (load[p]! < load[best]! || (load[p] === load[best] && lists[p]! < lists[best]!)) best = p;
    owner[l] = best;
    load[best]! += sizes[l]!;
    lists[best]! += 1;
  }
  return { partitions, owner, load };
}
