import type { WordPieceTokenizer } from '../tokenizer/index.js';

/**
 * Inverse document frequency of every vocabulary piece over `texts`:
 * idf = ln((1 + N) / (1 + df)) + 1 (the hashed baseline's smoothing), so a
 * piece in every text weighs 1 and an unseen one ln(1 + N) + 1.
 */
export function pieceIdf(tokenizer: WordPieceTokenizer, texts: readonly string[]): Float32Array {
  const df = new Uint32Array(tokenizer.size);
  const seen = new Set<number>();
  for (const text of texts) {
    seen.clear();
    for (const id of tokenizer.pieceIds(text)) seen.add(id);
    seen.add(tokenizer.cls);
    seen.add(tokenizer.sep);
    for (const id of seen) df[id]! += 1;
  }
  const n = texts.length;
  return Float32Array.from(df, (d) => Math.log((1 + n) / (1 + d)) + 1);
}
