/*
 * Set of external ids in bounded, predictable memory: 8 bytes per slot, load
 * factor at most 0.7 (about 11 bytes per id), where a JS Set<string> costs
 * ~50-100 bytes per id and stops at 2^24 entries (DPR alone has 21M).
 *
 * Ids are kept as 64-bit fingerprints (two independent 32-bit hashes). Two
 * distinct ids collide with probability about n^2 / 2^65: ~1e-5 for all 21M
 * DPR passages. A collision shows up as a `duplicate_id` rejection naming the
 * id, so it is never silent.
 */
export class IdFingerprintSet {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1 << 16) {
    let capacity = 1 << 4;
    while (capacity < initialCapacity) capacity <<= 1;
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Adds `id`; returns false when it (or its fingerprint) was already there. */
  add(id: string): boolean {
    const [h1, h2] = fingerprint(id);
    if (this.insert(h1, h2)) {
      this.count += 1;
      if (this.count > (this.mask + 1) * 0.7) this.grow();
      return true;
    }
    return false;
  }

  has(id: string): boolean {
    const [h1, h2] = fingerprint(id);
    let slot = h1 & this.mask;
    for (;;) {
      const a = this.slots[slot * 2]!;
      const b = this.slots[slot * 2 + 1]!;
      if (a === 0 && b === 0) return false;
      if (a === h1 && b === h2) return true;
      slot = (slot + 1) & this.mask;
    }
  }

  private insert(h1: number, h2: number): boolean {
    let slot = h1 & this.mask;
    for (;;) {
      const a = this.slots[slot * 2]!;
      const b = this.slots[slot * 2 + 1]!;
      if (a === 0 && b === 0) {
        this.slots[slot * 2] = h1;
        this.slots[slot * 2 + 1] = h2;
        return true;
      }
      if (a === h1 && b === h2) return false;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.slots.length / 2 - 1;
    for (let i = 0; i < old.length; i += 2) {
      const a = old[i]!;
      const b = old[i + 1]!;
      if (a !== 0 || b !== 0) this.insert(a, b);
    }
  }
}

/** Two 32-bit hashes (FNV-1a and a murmur-style mix, different seeds); never (0, 0). */
function fingerprint(id: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    let k = Math.imul(c, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h2 ^= Math.imul(k, 0x1b873593);
    h2 = (h2 << 13) | (h2 >>> 19);
    h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
  }
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  h1 >>>= 0;
  h2 >>>= 0;
  if (h1 === 0 && h2 === 0) h2 = 1;
  return [h1, h2];
}
