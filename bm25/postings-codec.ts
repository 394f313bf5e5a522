import { Bm25IndexError } from './errors.js';

/*
 * Postings on disk as variable-length integers (LEB128: 7 bits a byte, the
 * high bit saying another byte follows), documents as gaps from the previous
 * document of the same term, as Lucene stores them. A shard's documents are
 * ascending within a term, so most gaps and most term frequencies fit one
 * byte: ~3 bytes a posting instead of 6 (u32 document + u16 frequency).
 * In memory the index keeps its plain arrays; they are decoded at load.
 */

/** Each value as a varint; sized first, so nothing but the output is allocated. */
function varintBytes(values: Uint32Array | Uint16Array): Uint8Array {
  let size = 0;
  for (const v of values) size += v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
  const out = new Uint8Array(size);
  let at = 0;
  for (let v of values) {
    while (v >= 0x80) {
      out[at++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[at++] = v;
  }
  return out;
}

/** Per term, its documents as gaps (the first from 0), then every frequency: two byte streams. */
export function packPostings(offsets: Uint32Array, docs: Uint32Array, tfs: Uint16Array): { docs: Uint8Array; tfs: Uint8Array } {
  const gaps = new Uint32Array(docs.length);
  for (let t = 0; t + 1 < offsets.length; t++) {
    let previous = 0;
    for (let i = offsets[t]!; i < offsets[t + 1]!; i++) {
      if (docs[i]! < previous) throw new Bm25IndexError(`term ${t}: documents out of order (${docs[i]} after ${previous})`);
      gaps[i] = docs[i]! - previous;
      previous = docs[i]!;
    }
  }
  return { docs: varintBytes(gaps), tfs: varintBytes(tfs) };
}

/** Reads `count` varints from `bytes`; `file` names the index in an error. */
function readVarints(bytes: Uint8Array, count: number, into: Uint32Array | Uint16Array, file: string): void {
  let at = 0;
  for (let i = 0; i < count; i++) {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length) throw new Bm25IndexError(`packed postings end after ${i} of ${count} values`, { file });
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
      shift += 7;
    }
    into[i] = value;
  }
  if (at !== bytes.length) throw new Bm25IndexError(`packed postings have ${bytes.length - at} bytes past their ${count} values`, { file });
}

/** The plain arrays back: documents from their per-term gaps, frequencies as they are. */
export function unpackPostings(
  offsets: Uint32Array,
  packed: { docs: Uint8Array; tfs: Uint8Array },
  postings: number,
  file: string,
): { docs: Uint32Array; tfs: Uint16Array } {
  const docs = new Uint32Array(postings);
  const tfs = new Uint16Array(postings);
  readVarints(packed.docs, postings, docs, file);
  readVarints(packed.tfs, postings, tfs, file);
  for (let t = 0; t + 1 < offsets.length; t++) for (let i = offsets[t]! + 1; i < offsets[t + 1]!; i++) docs[i]! += docs[i - 1]!;
  return { docs, tfs };
}
