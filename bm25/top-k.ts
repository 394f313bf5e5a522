/*
 * The k best (score, doc) pairs seen so far: a bounded min-heap whose root is
 * the worst kept pair. "Worse" is a lower score, or an equal score and a
 * higher doc, so ties go to the lower document number as in Lucene.
 */

export interface ScoredDoc {
  doc: number;
  score: number;
}

export class TopKHeap {
  private readonly docs: Int32Array;
  private readonly scores: Float64Array;
  private size = 0;

  constructor(k: number) {
    this.docs = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  get full(): boolean {
    return this.size === this.docs.length;
  }

  /** The score a new document must beat once the heap is full; -Infinity before. */
  get threshold(): number {
    return this.full ? this.scores[0]! : -Infinity;
  }

  /** Keeps (doc, score) if it is among the k best so far; says whether it was kept. */
  offer(doc: number, score: number): boolean {
    const { docs, scores } = this;
    if (this.size < docs.length) {
      let i = this.size++;
      docs[i] = doc;
      scores[i] = score;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return true;
    }
    if (docs.length === 0 || !(scores[0]! < score || (scores[0] === score && docs[0]! > doc))) return false;
    docs[0] = doc;
    scores[0] = score;
    this.siftDown(0);
    return true;
  }

  /** The kept pairs, best first. */
  sorted(): ScoredDoc[] {
    const out = Array.from({ length: this.size }, (_, i) => ({ doc: this.docs[i]!, score: this.scores[i]! }));
    return out.sort((a, b) => b.score - a.score || a.doc - b.doc);
  }

  private worse(a: number, b: number): boolean {
    const sa = this.scores[a]!;
    const sb = this.scores[b]!;
    return sa < sb || (sa === sb && this.docs[a]! > this.docs[b]!);
  }

  private swap(a: number, b: number): void {
    const { docs, scores } = this;
    [docs[a], docs[b]] = [docs[b]!, docs[a]!];
    [scores[a], scores[b]] = [scores[b]!, scores[a]!];
  }

  private siftDown(i: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (r < this.size && this.worse(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
