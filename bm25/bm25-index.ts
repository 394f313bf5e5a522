import { EnglishAnalyzer } from './analyzer.js';
import { NORM_LENGTHS } from './lucene-norms.js';
import { Bm25ArgumentError } from './errors.js';

/*
 * One shard's BM25 index, scored as Lucene's BM25Similarity (Lucene 8+: no
 * (k1 + 1) factor, document lengths decoded from one-byte norms, avgdl =
 * sumTotalTermFreq / docCount, idf = ln(1 + (N - df + 0.5) / (df + 0.5))),
 * with query terms weighted by their count in the query (Anserini's
 * bag-of-words query). Term-at-a-time accumulation into a dense score array,
 * then a bounded heap; ties go to the lower document number, as in Lucene.
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

  constructor(parts: Bm25Parts) {
    this.parts = parts;
    this.params = parts.params;
    this.termIndex = new Map(parts.terms.map((t, i) => [t, i]));
    this.scores = new Float64Array(parts.norms.length);
    this.seen = new Uint8Array(parts.norms.length);
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

  searchTerms(queryTerms: readonly string[], k: number, stats: CorpusStats = this.localStats()): Bm25Hit[] {
    if (!Number.isInteger(k) || k <= 0) throw new Bm25ArgumentError(`k must be a positive integer, got ${k}`);
    if (stats.docCount <= 0) return [];
    const { k1, b } = this.params;
    const avgdl = stats.sumTotalTermFreq / stats.docCount;
    // Lucene's per-norm cache: k1 * (1 - b + b * dl / avgdl) for each norm byte.
    const cache = new Float64Array(256);
    for (let i = 0; i < 256; i++) cache[i] = k1 * (1 - b + (b * NORM_LENGTHS[i]!) / avgdl);

    const weights = new Map<string, number>();
    for (const term of queryTerms) weights.set(term, (weights.get(term) ?? 0) + 1);
    const { offsets, docs, tfs, norms } = this.parts;
    const scores = this.scores;
    const seen = this.seen;
    const touched: number[] = [];
    for (const [term, boost] of weights) {
      const t = this.termIndex.get(term);
      if (t === undefined) continue;
      const df = stats.df(term);
      if (df <= 0) continue;
      const idf = Math.log(1 + (stats.docCount - df + 0.5) / (df + 0.5));
      const weight = boost * idf;
      for (let p = offsets[t]!, end = offsets[t + 1]!; p < end; p++) {
        const doc = docs[p]!;
        const freq = tfs[p]!;
        if (seen[doc] === 0) {
          seen[doc] = 1;
          touched.push(doc);
        }
        scores[doc]! += (weight * freq) / (freq + cache[norms[doc]!]!);
      }
    }
    const top = topK(touched, scores, k);
    for (const doc of touched) {
      scores[doc] = 0;
      seen[doc] = 0;
    }
    return top.map(({ doc, score }) => ({ doc, score, rowId: this.parts.rowIds[doc]!, externalId: this.parts.externalIds[doc]! }));
  }
}

/** Bounded min-heap over (score, -doc): keeps the k best, ties to the lower doc. */
function topK(candidates: readonly number[], scores: Float64Array, k: number): Array<{ doc: number; score: number }> {
  const heapDocs = new Int32Array(Math.min(k, candidates.length));
  const heapScores = new Float64Array(heapDocs.length);
  let size = 0;
  // "a worse than b": lower score, or equal score and higher doc.
  const worse = (sa: number, da: number, sb: number, db: number) => sa < sb || (sa === sb && da > db);
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < size && worse(heapScores[l]!, heapDocs[l]!, heapScores[m]!, heapDocs[m]!)) m = l;
      if (r < size && worse(heapScores[r]!, heapDocs[r]!, heapScores[m]!, heapDocs[m]!)) m = r;
      if (m === i) return;
      [heapScores[i], heapScores[m]] = [heapScores[m]!, heapScores[i]!];
      [heapDocs[i], heapDocs[m]] = [heapDocs[m]!, heapDocs[i]!];
      i = m;
    }
  };
  for (const doc of candidates) {
    const score = scores[doc]!;
    if (size < heapDocs.length) {
      let i = size++;
      heapScores[i] = score;
      heapDocs[i] = doc;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!worse(heapScores[i]!, heapDocs[i]!, heapScores[parent]!, heapDocs[parent]!)) break;
        [heapScores[i], heapScores[parent]] = [heapScores[parent]!, heapScores[i]!];
        [heapDocs[i], heapDocs[parent]] = [heapDocs[parent]!, heapDocs[i]!];
        i = parent;
      }
    } else if (worse(heapScores[0]!, heapDocs[0]!, score, doc)) {
      heapScores[0] = score;
      heapDocs[0] = doc;
      siftDown(0);
    }
  }
  const out = Array.from({ length: size }, (_, i) => ({ doc: heapDocs[i]!, score: heapScores[i]! }));
  return out.sort((a, b) => b.score - a.score || a.doc - b.doc);
}
