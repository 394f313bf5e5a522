/*
 * Global top-k from per-shard top-k lists with a bounded heap: the heap holds
 * the head of each shard's list, so taking k results costs O(k log shards).
 * Ties on score go to the smaller row id, the order one global Faiss index
 * keeps, so the sharded answer equals the global one.
 */

export interface Hit {
  rowId: number;
  externalId: string;
  score: number;
  shard: number;
  /** The passage's title and text, when the search asked for them (`fields`). */
  title?: string;
  text?: string;
}

/** One shard's ranked list for one query (best first). */
export type RankedList = readonly Hit[];

export function mergeTopK(lists: readonly RankedList[], k: number, higherIsBetter: boolean): Hit[] {
  const better = (a: Hit, b: Hit) => (a.score !== b.score ? (higherIsBetter ? a.score > b.score : a.score < b.score) : a.rowId < b.rowId);
  // Binary heap of [list, position], best head on top.
  const heap: Array<[number, number]> = [];
  const head = (e: [number, number]) => lists[e[0]]![e[1]]!;
  const up = (i: number) => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!better(head(heap[i]!), head(heap[parent]!))) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && better(head(heap[l]!), head(heap[best]!))) best = l;
      if (r < heap.length && better(head(heap[r]!), head(heap[best]!))) best = r;
      if (best === i) return;
      [heap[i], heap[best]] = [heap[best]!, heap[i]!];
      i = best;
    }
  };
  lists.forEach((list, i) => {
    if (list.length > 0) {
      heap.push([i, 0]);
      up(heap.length - 1);
    }
  });
  const out: Hit[] = [];
  while (out.length < k && heap.length > 0) {
    const top = heap[0]!;
    out.push(head(top));
    if (top[1] + 1 < lists[top[0]]!.length) {
      heap[0] = [top[0], top[1] + 1];
    } else {
      heap[0] = heap[heap.length - 1]!;
      heap.pop();
    }
    if (heap.length > 0) down(0);
  }
  return out;
}

/** Reciprocal rank fusion (Cormack et al. 2009): Σ weight / (c + rank), rank from 1; c = 60. */
export function reciprocalRankFusion(rankings: ReadonlyArray<{ hits: readonly Hit[]; weight: number }>, k: number, c = 60): Hit[] {
  const fused = new Map<string, Hit>();
  for (const { hits, weight } of rankings) {
    hits.forEach((hit, r) => {
      const key = `${hit.rowId}`;
      const prev = fused.get(key);
      const add = weight / (c + r + 1);
      fused.set(key, prev ? { ...prev, score: prev.score + add } : { ...hit, score: add });
    });
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || a.rowId - b.rowId).slice(0, k);
}
