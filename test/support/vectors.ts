/** Deterministic pseudo-random vectors for tests (no Math.random). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** n × dim vectors around `clusters` centres, optionally L2-normalised. */
export function clusteredVectors(n: number, dim: number, clusters: number, seed: number, normalise = false): Float32Array {
  const rand = seededRandom(seed);
  const centres = Float32Array.from({ length: clusters * dim }, () => rand() * 2 - 1);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = centres[c * dim + j]! + (rand() - 0.5) * 0.3;
      out[i * dim + j] = v;
      norm += v * v;
    }
    if (normalise) for (let j = 0; j < dim; j++) out[i * dim + j]! /= Math.sqrt(norm);
  }
  return out;
}

/** Exact top-k by inner product or (squared) L2, as ids and scores. */
export function bruteForce(
  base: Float32Array,
  queries: Float32Array,
  dim: number,
  k: number,
  metric: 'ip' | 'l2',
  candidates: (q: number) => Iterable<number> = () => Array.from({ length: base.length / dim }, (_, i) => i),
): Array<Array<{ id: number; score: number }>> {
  const nq = queries.length / dim;
  const out: Array<Array<{ id: number; score: number }>> = [];
  for (let q = 0; q < nq; q++) {
    const scored: Array<{ id: number; score: number }> = [];
    for (const i of candidates(q)) {
      let s = 0;
      for (let j = 0; j < dim; j++) {
        const a = queries[q * dim + j]!;
        const b = base[i * dim + j]!;
        s += metric === 'ip' ? a * b : (a - b) * (a - b);
      }
      scored.push({ id: i, score: s });
    }
    scored.sort((x, y) => (metric === 'ip' ? y.score - x.score : x.score - y.score));
    out.push(scored.slice(0, k));
  }
  return out;
}
