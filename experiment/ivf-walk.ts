/*
 * One query's walk through an IVF-Flat layout, list by list in probe order,
 * measured at every point of two grids:
 *   nprobe   after the first p lists (the usual sweep);
 *   budget   after the longest prefix of lists whose items scanned stay
 *            within B (at least one list): equal work for layouts whose
 *            lists differ in size, so a layout cannot win by probing
 *            bigger lists.
 * At each point: the share of the query's positives whose list was probed,
 * the overlap of the top k with the exact top k, Recall@k, and the items
 * scanned. Scores are inner products with the stored view (what an IVF-Flat
 * index stores); ties keep the smaller row, as Faiss does. Layouts differ
 * only in their centroids and list assignment, so two layouts' walks over
 * the same queries are paired measurements.
 */

export interface IvfLayout {
  nlist: number;
  /** The rows of each list, ascending. */
  lists: Int32Array[];
  /** The list of every row. */
  listOf: Int32Array;
}

/** The lists of a layout from every row's assignment (a Faiss label per row). */
export function ivfLayout(assignments: ArrayLike<bigint | number>, nlist: number): IvfLayout {
  const listOf = new Int32Array(assignments.length);
  const sizes = new Int32Array(nlist);
  for (let r = 0; r < assignments.length; r++) {
    const list = Number(assignments[r]!);
    if (!Number.isInteger(list) || list < 0 || list >= nlist) throw new RangeError(`row ${r} is assigned to list ${list}, outside 0..${nlist - 1}`);
    listOf[r] = list;
    sizes[list]! += 1;
  }
  const lists = Array.from(sizes, (size) => new Int32Array(size));
  const filled = new Int32Array(nlist);
  for (let r = 0; r < listOf.length; r++) {
    const list = listOf[r]!;
    lists[list]![filled[list]!++] = r;
  }
  return { nlist, lists, listOf };
}

export interface ProbePoint {
  /** Share of the positives whose list was probed. */
  probed: number;
  /** |top k ∩ exact top k| / |exact top k|. */
  overlap: number;
  /** |top k ∩ positives| / |positives|. */
  recall: number;
  /** Items whose score was computed (the coarse step is the same for every layout of one nlist). */
  scanned: number;
}

export interface WalkInput {
  dim: number;
  /** The stored view, n × dim. */
  stored: Float32Array;
  layout: IvfLayout;
  /** The query vector (dim). */
  query: Float32Array;
  /** Lists in probe order (nearest centroid first); the walk stops at its end. */
  order: ArrayLike<number>;
  /** Rows judged relevant (at least one). */
  positives: readonly number[];
  /** Rows of the exact top k. */
  exact: readonly number[];
  k: number;
  /** Ascending. */
  nprobes: readonly number[];
  /** Items scanned, ascending. */
  budgets: readonly number[];
}

export interface WalkResult {
  atNprobe: ProbePoint[];
  atBudget: ProbePoint[];
  /** The order (shorter than nlist) ran out before the last point: those points hold the walk's end. */
  truncated: boolean;
}

export function walkIvf(input: WalkInput): WalkResult {
  const { dim, stored, layout, query, order, positives, exact, k, nprobes, budgets } = input;
  if (positives.length === 0) throw new RangeError('a walked query needs at least one positive');
  const topScores = new Float64Array(k).fill(-Infinity);
  const topRows = new Int32Array(k).fill(-1);
  let filled = 0;
  const positiveSet = new Set(positives);
  const exactSet = new Set(exact.filter((r) => r >= 0));
  const positiveLists = positives.map((row) => layout.listOf[row]!);
  const probedLists = new Set<number>();
  let scanned = 0;

  const point = (): ProbePoint => {
    let inExact = 0;
    let relevant = 0;
    for (let j = 0; j < filled; j++) {
      if (exactSet.has(topRows[j]!)) inExact += 1;
      if (positiveSet.has(topRows[j]!)) relevant += 1;
    }
    return {
      probed: positiveLists.filter((l) => probedLists.has(l)).length / positives.length,
      overlap: exactSet.size === 0 ? 1 : inExact / exactSet.size,
      recall: relevant / positives.length,
      scanned,
    };
  };

  const atNprobe: ProbePoint[] = [];
  const atBudget: ProbePoint[] = [];
  let nextBudget = 0;
  for (let p = 0; p < order.length; p++) {
    const list = layout.lists[order[p]!]!;
    // Budgets the next list would overrun are measured before it (never before the first list).
    while (p > 0 && nextBudget < budgets.length && scanned + list.length > budgets[nextBudget]!) {
      atBudget.push(point());
      nextBudget += 1;
    }
    if (atNprobe.length === nprobes.length && nextBudget === budgets.length) break;
    probedLists.add(order[p]!);
    for (let i = 0; i < list.length; i++) {
      const row = list[i]!;
      let score = 0;
      const base = row * dim;
      for (let x = 0; x < dim; x++) score += query[x]! * stored[base + x]!;
      // Insert into the sorted top k (higher score first, ties to the smaller row).
      if (filled === k && (score < topScores[k - 1]! || (score === topScores[k - 1]! && row > topRows[k - 1]!))) continue;
      let j = filled === k ? k - 1 : filled++;
      while (j > 0 && (topScores[j - 1]! < score || (topScores[j - 1]! === score && topRows[j - 1]! > row))) {
        topScores[j] = topScores[j - 1]!;
        topRows[j] = topRows[j - 1]!;
        j -= 1;
      }
      topScores[j] = score;
      topRows[j] = row;
    }
    scanned += list.length;
    while (atNprobe.length < nprobes.length && nprobes[atNprobe.length]! <= p + 1) atNprobe.push(point());
  }
  // Points left when the order ran out: the walk's end, which is exact where the order held every list.
  const truncated = (atNprobe.length < nprobes.length || nextBudget < budgets.length) && order.length < layout.nlist;
  const end = point();
  while (atNprobe.length < nprobes.length) atNprobe.push(end);
  while (atBudget.length < budgets.length) atBudget.push(end);
  return { atNprobe, atBudget, truncated };
}
