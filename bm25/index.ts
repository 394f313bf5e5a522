export { EnglishAnalyzer, ENGLISH_STOP_WORDS, ANALYZER_VERSION } from './analyzer.js';
export { Bm25Builder } from './bm25-builder.js';
export { Bm25Index, type Bm25Params, type Bm25Hit, type CorpusStats } from './bm25-index.js';
export { saveBm25, loadBm25, BM25_FORMAT } from './bm25-store.js';
export { mergeCorpusStats } from './corpus-stats.js';
export { buildBm25FromShards, openBm25Set, searchBm25Set, type Bm25Set } from './bm25-set.js';
export { lengthToNorm, normToLength } from './lucene-norms.js';
export { Bm25IndexError, Bm25ArgumentError } from './errors.js';
