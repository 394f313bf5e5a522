/*
 * Lucene stores each document's length in one byte (SmallFloat.intToByte4)
 * and BM25 scores with the decoded length, so long documents' lengths are
 * rounded. Reproducing that keeps our scores equal to Lucene's.
 */

function longToInt4(i: number): number {
  const numBits = 32 - Math.clz32(i);
  if (numBits < 4) return i;
  const shift = numBits - 4;
  return ((i >>> shift) & 0x07) | ((shift + 1) << 3);
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

const MAX_INT4 = longToInt4(0x7fffffff);
const NUM_FREE_VALUES = 255 - MAX_INT4;

/** Lucene SmallFloat.intToByte4 (as an unsigned byte). */
export function lengthToNorm(length: number): number {
  if (length < NUM_FREE_VALUES) return length;
  return NUM_FREE_VALUES + longToInt4(length - NUM_FREE_VALUES);
}

/** Lucene SmallFloat.byte4ToInt: the length BM25 sees for a norm byte. */
export function normToLength(norm: number): number {
  if (norm < NUM_FREE_VALUES) return norm;
  return NUM_FREE_VALUES + int4ToLong(norm - NUM_FREE_VALUES);
}

/** LENGTH_TABLE of Lucene's BM25Similarity. */
export const NORM_LENGTHS: Float64Array = Float64Array.from({ length: 256 }, (_, i) => normToLength(i));
