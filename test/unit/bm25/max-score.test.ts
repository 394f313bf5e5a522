import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Bm25Builder, Bm25Index, maxScoreTopK, TopKHeap, type Bm25Params, type CorpusStats, type QueryTermPostings } from '../../../bm25/index.js';

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
      // Pyserini's and Lucene's defaults, k1 = 0 (every share 1), and b = 2, which only a hand-made
      // index has (its shares are not monotone, so the search must not prune).
      fc.constantFrom<Bm25Params>({ k1: 0.9, b: 0.4 }, { k1: 1.2, b: 0.75 }, { k1: 0, b: 0.4 }, { k1: 0.9, b: 2 }),
      (texts, repeats, queries, k, params) => {
        const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
        // Each text repeated `repeats` extra times: equal scores that only the doc number orders.
        const all = texts.flatMap((t) => [t, ...Array<string>(repeats).fill(t)]);
        all.forEach((text, i) => builder.add(i, `d${i}`, text));
        const index = new Bm25Index({ ...builder.build().parts, params });
        // Statistics of a larger corpus the shard is part of (other idf and avgdl than the shard's own).
        const corpus: CorpusStats = {
          docCount: index.docCount * 3 + 7,
          sumTotalTermFreq: index.parts.sumTotalTermFreq * 2 + 11,
          df: (term) => index.df(term) * 2 + (term.length % 3),
        };
        for (const words of queries) {
          const terms = index.analyze(words.join(' '));
          for (const stats of [index.localStats(), corpus]) {
            const exhaustive = index.searchTermsExhaustive(terms, k, stats);
            // Windows of one document, of a few (many window edges in a small corpus) and the default.
            for (const windowSize of [1, 7, 64, undefined]) {
              const pruned = index.searchTerms(terms, k, stats, windowSize ? { windowSize } : {});
              assert.deepEqual(pruned, exhaustive, `query ${words.join(' ')}, k ${k}, k1 ${params.k1}, b ${params.b}, window ${windowSize}`);
            }
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
  const hits = index.searchTerms(terms, 5, index.localStats(), { counters, windowSize: 64 });
  assert.deepEqual(
    hits.map((h) => h.externalId),
    ['d0', 'd500', 'd1000', 'd1500', 'd2000'],
  );
  assert.deepEqual(hits, index.searchTermsExhaustive(terms, 5));
  // Once five rare documents are kept, "common" alone cannot reach them: only the rare postings and
  // the common ones met before that stay candidates, not all 5,000 documents.
  assert.ok(counters.candidates < 2100, `${counters.candidates} candidates`);
  // The default window (4,096 documents) takes the dense path (candidates read off the flags) and
  // crosses one window edge; a window larger than the default grows the shared arrays, and a small one
  // after it still finds them clean.
  for (const pruning of [{}, { windowSize: 5000 }, { windowSize: 3 }, { windowSize: 100_000 }, {}])
    assert.deepEqual(index.searchTerms(terms, 5, index.localStats(), pruning), hits, JSON.stringify(pruning));
  for (const k of [1, 7, 50, 6000]) assert.deepEqual(index.searchTerms(terms, k), index.searchTermsExhaustive(terms, k), `k ${k}`);
  assert.throws(() => index.searchTerms(terms, 5, index.localStats(), { windowSize: 0 }), /windowSize must be a positive integer/);
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

test('a sum rounded in bound order cannot prune a document whose query-order sum wins by an ulp', () => {
  // Every share is 1 (tf 1, k1 = 0), so a term adds its weight. Six tiny terms add 0.3 ulp of 1 each:
  // in query order before A they reach 1 + 2 ulp, while A + each one rounds back to 1.
  const tiny = 0.6 * 2 ** -53;
  const weights = [tiny, tiny, tiny, tiny, tiny, tiny, 1, 1 + 2 ** -52, 1e-30];
  const docsOf = [[1], [1], [1], [1], [1], [1], [1], [0], [2]];
  const docs = Uint32Array.from(docsOf.flat());
  let at = 0;
  const terms: QueryTermPostings[] = weights.map((weight, i) => {
    const start = at;
    at += docsOf[i]!.length;
    return { start, end: at, weight, bound: weight };
  });
  const postings = { docs, tfs: new Uint16Array(docs.length).fill(1), norms: new Uint8Array(3) };
  let expected = 0;
  for (let i = 0; i < 7; i++) expected += weights[i]!;
  assert.equal(expected, 1 + 2 ** -51);
  // One window per document, and all three in one.
  for (const windowSize of [1, 2, undefined]) {
    const top = maxScoreTopK(terms, postings, new Float64Array(256), 1, windowSize ? { windowSize } : {});
    assert.deepEqual(top, [{ doc: 1, score: expected }], `window ${windowSize}`);
  }
});

test('parameters outside k1 ≥ 0, 0 ≤ b ≤ 1 (a hand-made index) are searched without pruning', () => {
  // With b = 2 a document shorter than half the average has a negative length factor, a share no
  // longer grows with tf, and the bound from the largest tf would prune d3, the best document.
  const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
  ['ax bx cx cx', 'ax cx cx bx cx cx', 'bx ax bx ax bx', 'cx', 'cx bx bx bx'].forEach((text, i) => builder.add(i, `d${i}`, text));
  const index = new Bm25Index({ ...builder.build().parts, params: { k1: 0.9, b: 2 } });
  const hits = index.searchTerms(['cx', 'ax'], 1);
  assert.deepEqual(hits, index.searchTermsExhaustive(['cx', 'ax'], 1));
  assert.equal(hits[0]!.externalId, 'd3');
});
