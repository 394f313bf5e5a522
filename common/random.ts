/** A small seeded PRNG (mulberry32): same seed, same sequence, on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle in place with the given random source. */
export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** A seed derived from several integers (so step s of epoch e has its own stream). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) ^ (h >>> 13);
  return h >>> 0;
}

/**
 * A uniform sample of k of the positions 0..n-1 (all of them when k ≥ n), by
 * reservoir sampling (Algorithm R) with the given random source; in ascending
 * order. One pass, k slots: the same draw works on a stream of unknown length.
 */
export function reservoirSample(n: number, k: number, random: () => number): number[] {
  const size = Math.min(n, Math.max(0, Math.floor(k)));
  const reservoir: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i < size) reservoir.push(i);
    else {
      const j = Math.floor(random() * (i + 1));
      if (j < size) reservoir[j] = i;
    }
  }
  return reservoir.sort((a, b) => a - b);
}
