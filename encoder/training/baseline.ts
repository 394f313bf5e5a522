import { DfCounter, fitModel, hashedTextEncoder } from '../hashed-tfidf.js';
import type { TextEncoder } from '../text-encoder.js';

/** The untrained hashed TF-IDF projection (the cluster's default encoder), fitted on `texts`. */
export function hashedBaselineEncoder(texts: readonly string[], options: { dim: number; buckets?: number; seed?: number }): TextEncoder {
  const buckets = options.buckets ?? 1 << 18;
  const counter = new DfCounter(buckets);
  for (const t of texts) counter.add(t);
  return hashedTextEncoder(fitModel([{ docs: counter.docs, df: counter.df }], { buckets, dim: options.dim, seed: options.seed ?? 1 }));
}
