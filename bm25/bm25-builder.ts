import { EnglishAnalyzer } from './analyzer.js';
import { lengthToNorm } from './lucene-norms.js';
import { Bm25Index, type Bm25Params } from './bm25-index.js';
import { Bm25ArgumentError } from './errors.js';

/*
 * Builds one shard's inverted index in memory: per-term postings lists of
 * (document, term frequency) in document order, then packed into typed
 * arrays (CSR: term offsets, document numbers, frequencies) for search.
 */
export class Bm25Builder {
  private readonly analyzer = new EnglishAnalyzer();
  private readonly termIds = new Map<string, number>();
  private readonly postingDocs: number[][] = [];
  private readonly postingTfs: number[][] = [];
  private readonly norms: number[] = [];
  private readonly rowIds: number[] = [];
  private readonly externalIds: string[] = [];
  private sumTotalTermFreq = 0;
  private readonly tf = new Map<number, number>();

  constructor(private readonly params: Bm25Params = { k1: 0.9, b: 0.4 }) {
    if (!(params.k1 >= 0) || !(params.b >= 0 && params.b <= 1))
      throw new Bm25ArgumentError(`BM25 needs k1 >= 0 and 0 <= b <= 1, got k1=${params.k1} b=${params.b}`);
  }

  get documents(): number {
    return this.rowIds.length;
  }

  /** Adds one document; `text` is everything indexed (title + text for a "flat" index). */
  add(rowId: number, externalId: string, text: string): void {
    const doc = this.rowIds.length;
    const terms = this.analyzer.analyze(text);
    this.tf.clear();
    for (const term of terms) {
      let id = this.termIds.get(term);
      if (id === undefined) {
        id = this.termIds.size;
        this.termIds.set(term, id);
        this.postingDocs.push([]);
        this.postingTfs.push([]);
      }
      this.tf.set(id, (this.tf.get(id) ?? 0) + 1);
    }
    for (const [id, freq] of this.tf) {
      this.postingDocs[id]!.push(doc);
      this.postingTfs[id]!.push(Math.min(freq, 0xffff));
    }
    this.norms.push(lengthToNorm(terms.length));
    this.sumTotalTermFreq += terms.length;
    this.rowIds.push(rowId);
    this.externalIds.push(externalId);
  }

  build(): Bm25Index {
    // Terms sorted, so the on-disk dictionary is deterministic.
    const terms = [...this.termIds.keys()].sort();
    const offsets = new Uint32Array(terms.length + 1);
    let total = 0;
    terms.forEach((term, i) => {
      total += this.postingDocs[this.termIds.get(term)!]!.length;
      offsets[i + 1] = total;
    });
    const docs = new Uint32Array(total);
    const tfs = new Uint16Array(total);
    terms.forEach((term, i) => {
      const id = this.termIds.get(term)!;
      docs.set(this.postingDocs[id]!, offsets[i]!);
      tfs.set(this.postingTfs[id]!, offsets[i]!);
    });
    return new Bm25Index({
      params: this.params,
      terms,
      offsets,
      docs,
      tfs,
      norms: Uint8Array.from(this.norms),
      rowIds: Float64Array.from(this.rowIds),
      externalIds: this.externalIds,
      sumTotalTermFreq: this.sumTotalTermFreq,
    });
  }
}
