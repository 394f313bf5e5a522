import { TopKHeap, type ScoredDoc } from './top-k.js';

/*
 * Exact top-k BM25 by MaxScore (Turtle & Flood 1995), scored window by window
 * as Lucene's MaxScoreBulkScorer does.
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
 * Why windows: document at a time, every candidate costs a pass over every
 * essential cursor (which is next, which hold it), and on short postings
 * (SciFact: most documents touched by one or two of a query's many terms)
 * that made the pruned search slower than scoring every posting. Instead the
 * essential terms' postings inside a window of document numbers are scored
 * term at a time into a small array, as the exhaustive search does, and only
 * a candidate whose partial score plus the non-essential bounds reaches the
 * k-th score is looked at again. The split into essential terms is fixed for
 * a window and moves at the next one.
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

/** Documents a window spans: Lucene's inner window (small enough for its arrays to stay in the L1/L2 cache). */
export const MAX_SCORE_WINDOW = 4096;

/** What a search did: documents considered as candidates (from the essential terms' postings). */
export interface MaxScoreCounters {
  candidates: number;
}

export interface MaxScoreOptions {
  counters?: MaxScoreCounters;
  /** Documents a window spans (tests use tiny ones to cross many window edges). */
  windowSize?: number;
}

// One search runs at a time on a thread (the search is synchronous and calls nothing outside this
// module while a window is open): the window's arrays are shared, and every call leaves them zero.
let scratch = windowArrays(MAX_SCORE_WINDOW);

function windowArrays(size: number): { scores: Float64Array; seen: Uint8Array; touched: Int32Array } {
  return { scores: new Float64Array(size), seen: new Uint8Array(size), touched: new Int32Array(size) };
}

/** The top k documents of the query whose terms (in query order) are `terms`; `normCache` is k1·(1 − b + b·dl/avgdl) per norm byte. */
export function maxScoreTopK(
  terms: readonly QueryTermPostings[],
  postings: PostingArrays,
  normCache: Float64Array,
  k: number,
  options: MaxScoreOptions = {},
): ScoredDoc[] {
  const windowSize = options.windowSize ?? MAX_SCORE_WINDOW;
  if (!Number.isInteger(windowSize) || windowSize < 1) throw new RangeError(`windowSize must be a positive integer, got ${windowSize}`);
  if (scratch.scores.length < windowSize) scratch = windowArrays(windowSize);
  const { scores, seen, touched } = scratch;
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
  // A second cursor per term, in query order, for the exact sum of a document that may be kept.
  const exactAt = new Float64Array(n);
  const exactEnds = new Float64Array(n);
  const exactWeights = new Float64Array(n);
  for (let q = 0; q < n; q++) {
    exactAt[q] = terms[q]!.start;
    exactEnds[q] = terms[q]!.end;
    exactWeights[q] = terms[q]!.weight;
  }
  // The cursor of the term at each query position, and the current window's essential cursors in query order.
  const cursorOfTerm = new Int32Array(n);
  for (let i = 0; i < n; i++) cursorOfTerm[queryOrder[i]!] = i;
  const essentialCursors = new Int32Array(n);
  const heap = new TopKHeap(k);
  let threshold = -Infinity;
  let firstEssential = 0;
  let candidates = 0;

  for (;;) {
    // The window starts at the next document an essential term holds.
    let from = Infinity;
    for (let i = firstEssential; i < n; i++) if (at[i]! < ends[i]!) from = Math.min(from, docs[at[i]!]!);
    if (from === Infinity) break;
    const to = from + windowSize;
    const essential = firstEssential;
    let essentialCount = 0;
    for (let q = 0; q < n; q++) {
      const i = cursorOfTerm[q]!;
      if (i >= essential) essentialCursors[essentialCount++] = i;
    }

    // The essential terms' postings in [from, to), term at a time in query order: with no
    // non-essential term that sum is already the exact score.
    let count = 0;
    for (let e = 0; e < essentialCount; e++) {
      const i = essentialCursors[e]!;
      const weight = weights[i]!;
      let p = at[i]!;
      for (const end = ends[i]!; p < end; p++) {
        const doc = docs[p]!;
        if (doc >= to) break;
        const slot = doc - from;
        if (seen[slot] === 0) {
          seen[slot] = 1;
          touched[count++] = slot;
        }
        const freq = tfs[p]!;
        scores[slot]! += (weight * freq) / (freq + normCache[norms[doc]!]!);
      }
      at[i] = p;
    }
    candidates += count;
    // With non-essential terms the candidates go in document order (their cursors only move forward):
    // read off the flags where they are dense (a typed-array sort of thousands of slots cost more than
    // scoring them), sorted where they are few. Without, any order will do (the heap breaks ties by doc).
    if (essential > 0) {
      if (count * 8 >= windowSize) {
        for (let slot = 0, c = 0; c < count; slot++) if (seen[slot] === 1) touched[c++] = slot;
      } else touched.subarray(0, count).sort();
    }

    for (let c = 0; c < count; c++) {
      const slot = touched[c]!;
      const doc = from + slot;
      const essentialSum = scores[slot]!;
      scores[slot] = 0;
      seen[slot] = 0;
      // The margin on the whole sum: `partial` adds the terms in another order than the kept score,
      // and the two may differ in their last bits.
      let partial = essentialSum;
      let possible = true;
      for (let i = essential - 1; i >= 0; i--) {
        if ((partial + boundSums[i]!) * BOUND_MARGIN < threshold) {
          possible = false;
          break;
        }
        const p = advance(docs, at[i]!, ends[i]!, doc);
        at[i] = p;
        if (p < ends[i]! && docs[p] === doc) {
          const freq = tfs[p]!;
          partial += (weights[i]! * freq) / (freq + normCache[norms[doc]!]!);
        }
      }
      if (!possible || partial * BOUND_MARGIN < threshold) continue;
      let total = essentialSum;
      if (essential > 0) {
        total = 0;
        for (let q = 0; q < n; q++) {
          const p = advance(docs, exactAt[q]!, exactEnds[q]!, doc);
          exactAt[q] = p;
          if (p < exactEnds[q]! && docs[p] === doc) {
            const freq = tfs[p]!;
            total += (exactWeights[q]! * freq) / (freq + normCache[norms[doc]!]!);
          }
        }
      }
      if (heap.offer(doc, total) && heap.full && heap.threshold > threshold) threshold = heap.threshold;
    }
    // The next window's essential terms: those whose bounds alone could still reach the k-th score.
    while (firstEssential < n && boundSums[firstEssential]! < threshold) firstEssential++;
  }
  if (options.counters) options.counters.candidates += candidates;
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
