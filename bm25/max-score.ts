import { TopKHeap, type ScoredDoc } from './top-k.js';

/*
 * Exact top-k BM25 by MaxScore (Turtle & Flood 1995; Lucene's MaxScoreBulkScorer
 * and PISA's maxscore work the same way), document at a time.
 *
 * Every query term has an upper bound on what it can add to a document's
 * score. Terms are ordered by bound; once the k-th best score so far exceeds
 * the sum of the smallest bounds, a document that holds only those terms
 * ("non-essential") cannot enter the top k, so candidates come from the other
 * ("essential") terms' postings alone, and the non-essential postings are
 * only looked up (a galloping search in their sorted documents) for a
 * candidate that could still reach the top k. On a corpus whose queries mix
 * common and rare words this skips most postings of the common ones.
 *
 * The result is the exhaustive search's, bit for bit: a kept document's score
 * is summed over the same terms in the query's term order (floating-point
 * addition is not associative), ties go to the lower document, and pruning
 * only ever drops a document whose best possible score is strictly below the
 * k-th (bounds and the sums compared carry a relative margin of 1e-9, far
 * above the few ulps by which sums in different orders differ; weights must be
 * positive, which the caller checks).
 */

export interface QueryTermPostings {
  /** The term's postings: docs[start..end) ascending, with their frequencies. */
  start: number;
  end: number;
  /** boost × idf */
  weight: number;
  /** At least weight × tf / (tf + normCache[norm]) for every posting of the term. */
  bound: number;
}

export interface PostingArrays {
  docs: Uint32Array;
  tfs: Uint16Array;
  norms: Uint8Array;
}

/** Room left on every bound and compared sum, so rounding can never prune a document that would be kept. */
const BOUND_MARGIN = 1 + 1e-9;

/** What a search did: documents considered as candidates (from the essential terms' postings). */
export interface MaxScoreCounters {
  candidates: number;
}

/** The top k documents of the query whose terms (in query order) are `terms`; `normCache` is k1·(1 − b + b·dl/avgdl) per norm byte. */
export function maxScoreTopK(
  terms: readonly QueryTermPostings[],
  postings: PostingArrays,
  normCache: Float64Array,
  k: number,
  counters?: MaxScoreCounters,
): ScoredDoc[] {
  const { docs, tfs, norms } = postings;
  const n = terms.length;
  // Cursor i follows the i-th term by ascending bound; `queryOrder[i]` is its place in the query.
  const queryOrder = Array.from({ length: n }, (_, i) => i).sort((a, b) => terms[a]!.bound - terms[b]!.bound || a - b);
  const at = new Float64Array(n);
  const ends = new Float64Array(n);
  const weights = new Float64Array(n);
  const boundSums = new Float64Array(n); // sum of the bounds of cursors 0..i
  for (let i = 0; i < n; i++) {
    const term = terms[queryOrder[i]!]!;
    at[i] = term.start;
    ends[i] = term.end;
    weights[i] = term.weight;
    boundSums[i] = (i > 0 ? boundSums[i - 1]! : 0) + term.bound * BOUND_MARGIN;
  }
  const contribution = new Float64Array(n); // by query order, for the current candidate
  const matched = new Uint8Array(n);
  const heap = new TopKHeap(k);
  let threshold = -Infinity;
  let firstEssential = 0;

  const score = (cursor: number, doc: number, p: number): number => {
    const freq = tfs[p]!;
    return (weights[cursor]! * freq) / (freq + normCache[norms[doc]!]!);
  };

  for (;;) {
    let doc = Infinity;
    for (let i = firstEssential; i < n; i++) if (at[i]! < ends[i]!) doc = Math.min(doc, docs[at[i]!]!);
    if (doc === Infinity) break;
    if (counters) counters.candidates++;

    let partial = 0;
    for (let i = firstEssential; i < n; i++) {
      const p = at[i]!;
      if (p < ends[i]! && docs[p] === doc) {
        const c = score(i, doc, p);
        contribution[queryOrder[i]!] = c;
        matched[queryOrder[i]!] = 1;
        partial += c;
        at[i] = p + 1;
      }
    }
    let possible = true;
    for (let i = firstEssential - 1; i >= 0; i--) {
      // The margin on the whole sum: `partial` is summed in bound order, a kept score in query order,
      // and the two may differ in their last bits.
      if ((partial + boundSums[i]!) * BOUND_MARGIN < threshold) {
        possible = false;
        break;
      }
      const p = advance(docs, at[i]!, ends[i]!, doc);
      at[i] = p;
      if (p < ends[i]! && docs[p] === doc) {
        const c = score(i, doc, p);
        contribution[queryOrder[i]!] = c;
        matched[queryOrder[i]!] = 1;
        partial += c;
      }
    }
    if (possible) {
      let total = 0;
      for (let q = 0; q < n; q++) if (matched[q] === 1) total += contribution[q]!;
      if (heap.offer(doc, total) && heap.full && heap.threshold > threshold) {
        threshold = heap.threshold;
        while (firstEssential < n && boundSums[firstEssential]! < threshold) firstEssential++;
      }
    }
    matched.fill(0);
  }
  return heap.sorted();
}

/** The first position in docs[from..end) whose document is ≥ target (end if none): gallop, then bisect. */
function advance(docs: Uint32Array, from: number, end: number, target: number): number {
  if (from >= end || docs[from]! >= target) return from;
  let low = from; // docs[low] < target
  let step = 1;
  let high = from + step;
  while (high < end && docs[high]! < target) {
    low = high;
    step *= 2;
    high = from + step;
  }
  if (high > end) high = end;
  // docs[low] < target, and docs[high] ≥ target or high = end
  while (high - low > 1) {
    const mid = (low + high) >>> 1;
    if (docs[mid]! < target) low = mid;
    else high = mid;
  }
  return high;
}
