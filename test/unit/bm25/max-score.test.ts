import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Bm25Builder, TopKHeap, type CorpusStats } from '../../../bm25/index.js';

/*
 * MaxScore pruning must return exactly what scoring every posting returns:
 * the same documents, in the same order, with bit-identical scores. Random
 * corpora over a small skewed vocabulary give common and rare terms, repeated
 * documents give ties, and queries repeat words and use unknown ones.
 */

const VOCABULARY = Array.from({ length: 40 }, (_, i) => `w${i}x`);

/** A word drawn with probability falling with its rank, so w0x is in most documents and w39x in few. */
const skewedWord = fc.integer({ min: 0, max: 39 * 39 }).map((r) => VOCABULARY[39 - Math.floor(Math.sqrt(r))]!);
const documentText = fc.array(skewedWord, { minLength: 1, maxLength: 30 }).map((words) => words.join(' '));
const queryWords = fc.array(fc.oneof(skewedWord, fc.constant('absentword')), { minLength: 1, maxLength: 12 });

test('TopKHeap keeps the k best, ties to the lower doc, in order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 60 }), fc.integer({ min: 1, max: 10 }), (scores, k) => {
      const heap = new TopKHeap(k);
      // Offered in a scrambled doc order, so tie-breaking cannot lean on arrival order.
      const order = scores.map((_, i) => (i * 7) % scores.length).filter((d, i, all) => all.indexOf(d) === i);
      for (const doc of order) heap.offer(doc, scores[doc]!);
      const expected = order
        .map((doc) => ({ doc, score: scores[doc]! }))
        .sort((a, b) => b.score - a.score || a.doc - b.doc)
        .slice(0, k);
      assert.deepEqual(heap.sorted(), expected);
    }),
  );
});

test('MaxScore returns the exhaustive top k bit for bit (local and corpus-wide statistics)', () => {
  fc.assert(
    fc.property(
      fc.array(documentText, { minLength: 1, maxLength: 80 }),
      fc.integer({ min: 0, max: 3 }),
      fc.array(queryWords, { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 25 }),
      (texts, repeats, queries, k) => {
        const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
        // Each text repeated `repeats` extra times: equal scores that only the doc number orders.
        const all = texts.flatMap((t) => [t, ...Array<string>(repeats).fill(t)]);
        all.forEach((text, i) => builder.add(i, `d${i}`, text));
        const index = builder.build();
        // Statistics of a larger corpus the shard is part of (other idf and avgdl than the shard's own).
        const corpus: CorpusStats = {
          docCount: index.docCount * 3 + 7,
          sumTotalTermFreq: index.parts.sumTotalTermFreq * 2 + 11,
          df: (term) => index.df(term) * 2 + (term.length % 3),
        };
        for (const words of queries) {
          const terms = index.analyze(words.join(' '));
          for (const stats of [index.localStats(), corpus]) {
            const pruned = index.searchTerms(terms, k, stats);
            const exhaustive = index.searchTermsExhaustive(terms, k, stats);
            assert.deepEqual(pruned, exhaustive, `query ${words.join(' ')}, k ${k}`);
          }
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('MaxScore skips documents that hold only common terms once the top k is settled', () => {
  const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
  // "common" is in all 5,000 documents; "rare" in every 500th.
  for (let i = 0; i < 5000; i++) builder.add(i, `d${i}`, i % 500 === 0 ? 'common rare filler' : `common filler${i % 7}`);
  const index = builder.build();
  const terms = index.analyze('common rare');
  const counters = { candidates: 0 };
  const hits = index.searchTerms(terms, 5, index.localStats(), counters);
  assert.deepEqual(
    hits.map((h) => h.externalId),
    ['d0', 'd500', 'd1000', 'd1500', 'd2000'],
  );
  assert.deepEqual(hits, index.searchTermsExhaustive(terms, 5));
  // Once five rare documents are kept, "common" alone cannot reach them: only the rare postings and
  // the common ones met before that stay candidates, not all 5,000 documents.
  assert.ok(counters.candidates < 2100, `${counters.candidates} candidates`);
});

test('statistics that give a negative idf (df above the document count) still get the exhaustive answer', () => {
  const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
  // With a negative weight the best document is the one with the smallest share (tf 1 in a long
  // document), which a bound from the largest share would prune after the first document.
  ['apple apple apple filler filler filler', 'apple filler filler filler filler filler filler filler', 'apple', 'pear pie'].forEach((text, i) =>
    builder.add(i, `d${i}`, text),
  );
  const index = builder.build();
  const odd: CorpusStats = { docCount: 4, sumTotalTermFreq: 17, df: (term) => (term === 'appl' ? 9 : 1) };
  for (const query of ['apple', 'apple pear']) {
    const terms = index.analyze(query);
    for (const k of [1, 2, 4]) assert.deepEqual(index.searchTerms(terms, k, odd), index.searchTermsExhaustive(terms, k, odd), `${query}, k ${k}`);
  }
  assert.equal(index.searchTerms(index.analyze('apple'), 1, odd)[0]!.externalId, 'd1');
});
