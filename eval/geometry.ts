/*
 * The geometry of a dual-tower encoder's embeddings, one definition of each
 * quantity, for training's dev evaluation and the pipeline's analysis alike.
 * Vectors are unit length (the encoders normalise), row-major, `dim` wide:
 *   positiveCosine  mean cos(f_q(q), f_i(d⁺)) over judged (query, positive) pairs
 *   alignment       mean ||f_q(q) − f_i(d⁺)||² = 2 − 2·positiveCosine (Wang & Isola, α = 2)
 *   uniformity      log mean exp(−2 ||x − y||²) over distinct pairs of a sample of rows
 *   crossTowerGap   mean (1 − cos(f_q(x), f_i(x))) over a sample of passages x: how far
 *                   the two towers put the same text (0 for shared towers)
 */

/** The inner product of row i of a and row j of b. */
export function rowDot(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  for (let x = 0; x < dim; x++) s += a[i * dim + x]! * b[j * dim + x]!;
  return s;
}

/** Mean of the cosines of judged pairs (0 for none), and the alignment that follows from it. */
export function positiveGeometry(cosineSum: number, pairs: number): { positiveCosine: number; alignment: number } {
  const positiveCosine = pairs === 0 ? 0 : cosineSum / pairs;
  return { positiveCosine, alignment: 2 - 2 * positiveCosine };
}

/** Wang & Isola uniformity over distinct pairs of rows `rows` of `v` (unit vectors: ||x − y||² = 2 − 2·x·y); 0 under two rows. */
export function uniformity(v: Float32Array, rows: readonly number[], dim: number): number {
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < rows.length; a++) {
    for (let b = a + 1; b < rows.length; b++) {
      sum += Math.exp(-2 * (2 - 2 * rowDot(v, rows[a]!, v, rows[b]!, dim)));
      pairs += 1;
    }
  }
  return pairs === 0 ? 0 : Math.log(sum / pairs);
}

/** Mean (1 − cos) between row r of the query tower's view and row r of the item tower's view of the same passages; 0 for none. */
export function crossTowerGap(queryView: Float32Array, itemView: Float32Array, rows: number, dim: number): number {
  let gap = 0;
  for (let r = 0; r < rows; r++) gap += 1 - rowDot(queryView, r, itemView, r, dim);
  return rows === 0 ? 0 : gap / rows;
}
