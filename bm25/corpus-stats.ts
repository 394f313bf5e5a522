import type { Bm25Index, CorpusStats } from './bm25-index.js';

/**
 * Statistics of the whole corpus from its shards: document counts, total
 * term frequencies and every term's document frequency summed. Searching
 * each shard with these makes shard scores equal a single global index's.
 */
export function mergeCorpusStats(shards: readonly Bm25Index[]): CorpusStats {
  let docCount = 0;
  let sumTotalTermFreq = 0;
  for (const shard of shards) {
    docCount += shard.docCount;
    sumTotalTermFreq += shard.parts.sumTotalTermFreq;
  }
  const cache = new Map<string, number>();
  return {
    docCount,
    sumTotalTermFreq,
    df(term) {
      let df = cache.get(term);
      if (df === undefined) {
        df = 0;
        for (const shard of shards) df += shard.df(term);
        cache.set(term, df);
      }
      return df;
    },
  };
}
