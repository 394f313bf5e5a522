import { EnglishAnalyzer } from './analyzer.js';
import { NORM_LENGTHS } from './lucene-norms.js';
import { Bm25ArgumentError } from './errors.js';
import { maxScoreTopK, type MaxScoreOptions, type QueryTermPostings } from './max-score.js';
import { TopKHeap } from './top-k.js';

/*
 * One shard's BM25 index, scored as Lucene's BM25Similarity (Lucene 8+: no
 * (k1 + 1) factor, document lengths decoded from one-byte norms, avgdl =
 * sumTotalTermFreq / docCount, idf = ln(1 + (N - df + 0.5) / (df + 0.5))),
 * with query terms weighted by their count in the query (Anserini's
 * bag-of-words query). Searched document at a time with MaxScore pruning
 * (max-score.ts); ties go to the lower document number, as in Lucene.
 *
 * Scores are comparable across shards when every shard searches with the
 * same corpus-wide statistics (`CorpusStats`): then a shard's scores equal
 * those of one index over the whole corpus.
 */

export interface Bm25Params {
  /** @defaultValue 0.9 (Pyserini) */
  k1: number;
  /** @defaultValue 0.4 (Pyserini) */
  b: number;
}

export interface Bm25Parts {
  params: Bm25Params;
  /** Sorted; a term's number is its position. */
  terms: string[];
  offsets: Uint32Array;
  docs: Uint32Array;
  tfs: Uint16Array;
  norms: Uint8Array;
  rowIds: Float64Array;
  externalIds: string[];
  sumTotalTermFreq: number;
}

/** Collection statistics BM25 needs; from one shard or summed over all. */
export interface CorpusStats {
  docCount: number;
  sumTotalTermFreq: number;
  /** Document frequency of a term. */
  df(term: string): number;
}

export interface Bm25Hit {
  /** Position of the document in this shard. */
  doc: number;
  rowId: number;
  externalId: string;
  score: number;
}

export class Bm25Index {
  readonly params: Bm25Params;
  readonly parts: Bm25Parts;
  private readonly termIndex: Map<string, number>;
  private readonly analyzer = new EnglishAnalyzer();
  private readonly scores: Float64Array;
  private readonly seen: Uint8Array;
  /** Per term, its largest frequency and its shortest document's norm: MaxScore's bounds (one pass at load). */
  private readonly maxTf: Uint16Array;
  private readonly minNorm: Uint8Array;

  constructor(parts: Bm25Parts) {
    this.parts = parts;
    this.params = parts.params;
    this.termIndex = new Map(parts.terms.map((t, i) => [t, i]));
    this.scores = new Float64Array(parts.norms.length);
    this.seen = new Uint8Array(parts.norms.length);
    [this.maxTf, this.minNorm] = termBounds(parts);
  }

  get docCount(): number {
    return this.parts.norms.length;
  }

  get termCount(): number {
    return this.parts.terms.length;
  }

  /** This shard's own statistics. */
  localStats(): CorpusStats {
    return { docCount: this.docCount, sumTotalTermFreq: this.parts.sumTotalTermFreq, df: (term) => this.df(term) };
  }

  df(term: string): number {
    const t = this.termIndex.get(term);
    return t === undefined ? 0 : this.parts.offsets[t + 1]! - this.parts.offsets[t]!;
  }

  analyze(text: string): string[] {
    return this.analyzer.analyze(text);
  }

  /** Top-k documents for a query text. */
  search(query: string, k: number, stats: CorpusStats = this.localStats()): Bm25Hit[] {
    return this.searchTerms(this.analyzer.analyze(query), k, stats);
  }

  /** Top-k documents for analyzed query terms; `pruning.counters` (optional) learns how many candidates pruning left. */
  searchTerms(queryTerms: readonly string[], k: number, stats: CorpusStats = this.localStats(), pruning: MaxScoreOptions = {}): Bm25Hit[] {
    const query = this.prepare(queryTerms, k, stats);
    if (!query) return [];
    // The bounds hold for positive weights and monotone shares only: statistics with a df above the
    // document count (a negative idf) or parameters outside k1 ≥ 0, 0 ≤ b ≤ 1 (a hand-made index)
    // are scored exhaustively.
    if (!query.terms.every((t) => t.weight > 0) || !sharesAreMonotone(query.normCache)) return this.searchTermsExhaustive(queryTerms, k, stats);
    const top = maxScoreTopK(query.terms, this.parts, query.normCache, k, pruning);
    return top.map(({ doc, score }) => ({ doc, score, rowId: this.parts.rowIds[doc]!, externalId: this.parts.externalIds[doc]! }));
  }

  /**
   * The same top k by scoring every posting of every query term (term at a
   * time into a dense score array): the reference the pruned search is tested
   * against, and bench/bm25's baseline for it.
   */
  searchTermsExhaustive(queryTerms: readonly string[], k: number, stats: CorpusStats = this.localStats()): Bm25Hit[] {
    const query = this.prepare(queryTerms, k, stats);
    if (!query) return [];
    const { docs, tfs, norms } = this.parts;
    const cache = query.normCache;
    const scores = this.scores;
    const seen = this.seen;
    const touched: number[] = [];
    for (const { start, end, weight } of query.terms) {
      for (let p = start; p < end; p++) {
        const doc = docs[p]!;
        const freq = tfs[p]!;
        if (seen[doc] === 0) {
          seen[doc] = 1;
          touched.push(doc);
        }
        scores[doc]! += (weight * freq) / (freq + cache[norms[doc]!]!);
      }
    }
    const heap = new TopKHeap(k);
    for (const doc of touched) heap.offer(doc, scores[doc]!);
    for (const doc of touched) {
      scores[doc] = 0;
      seen[doc] = 0;
    }
    return heap.sorted().map(({ doc, score }) => ({ doc, score, rowId: this.parts.rowIds[doc]!, externalId: this.parts.externalIds[doc]! }));
  }

  /** The query's terms found in this shard, in query order, with their weights and score bounds; null when nothing can match. */
  private prepare(queryTerms: readonly string[], k: number, stats: CorpusStats): { terms: QueryTermPostings[]; normCache: Float64Array } | null {
    if (!Number.isInteger(k) || k <= 0) throw new Bm25ArgumentError(`k must be a positive integer, got ${k}`);
    if (stats.docCount <= 0) return null;
    const { k1, b } = this.params;
    const avgdl = stats.sumTotalTermFreq / stats.docCount;
    // Lucene's per-norm cache: k1 * (1 - b + b * dl / avgdl) for each norm byte.
    const normCache = new Float64Array(256);
    for (let i = 0; i < 256; i++) normCache[i] = k1 * (1 - b + (b * NORM_LENGTHS[i]!) / avgdl);

    const boosts = new Map<string, number>();
    for (const term of queryTerms) boosts.set(term, (boosts.get(term) ?? 0) + 1);
    const { offsets } = this.parts;
    const { maxTf, minNorm } = this;
    const terms: QueryTermPostings[] = [];
    for (const [term, boost] of boosts) {
      const t = this.termIndex.get(term);
      if (t === undefined) continue;
      const df = stats.df(term);
      if (df <= 0) continue;
      const idf = Math.log(1 + (stats.docCount - df + 0.5) / (df + 0.5));
      const weight = boost * idf;
      // tf / (tf + cache[norm]) grows with tf and shrinks with the length, so the term's largest
      // frequency over its shortest document bounds every posting's share.
      const bound = (weight * maxTf[t]!) / (maxTf[t]! + normCache[minNorm[t]!]!);
      terms.push({ start: offsets[t]!, end: offsets[t + 1]!, weight, bound });
    }
    return { terms, normCache };
  }
}

/** Per term, its largest frequency and the norm byte of its shortest document. */
function termBounds(parts: Bm25Parts): [Uint16Array, Uint8Array] {
  const { offsets, docs, tfs, norms } = parts;
  const terms = offsets.length - 1;
  const maxTf = new Uint16Array(terms);
  const minNorm = new Uint8Array(terms);
  for (let t = 0; t < terms; t++) {
    let tf = 0;
    let norm = 255;
    for (let p = offsets[t]!, end = offsets[t + 1]!; p < end; p++) {
      if (tfs[p]! > tf) tf = tfs[p]!;
      const n = norms[docs[p]!]!;
      if (n < norm) norm = n;
    }
    maxTf[t] = tf;
    minNorm[t] = norm;
  }
  return [maxTf, minNorm];
}

/** Whether a share tf / (tf + cache[norm]) can only grow with tf and shrink with the norm: what the bounds assume (k1 ≥ 0, 0 ≤ b ≤ 1). */
function sharesAreMonotone(normCache: Float64Array): boolean {
  for (let i = 0; i < normCache.length; i++) if (!(normCache[i]! >= 0) || (i > 0 && normCache[i]! < normCache[i - 1]!)) return false;
  return true;
}
