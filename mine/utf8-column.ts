import { makeData, makeVector, Utf8, type Vector } from 'apache-arrow';

/*
 * Utf8 Arrow columns built straight from offsets and bytes, for the mining
 * files whose string columns repeat a lot (a query id for each of its
 * negatives, a passage id in many queries' candidates, one stage and source
 * per file): each distinct value is encoded once. arrow-js's generic builder
 * encoded every cell and led the candidates stage's profile.
 */

const utf8 = new TextEncoder();

/** A Utf8 column of `values` (null: a null cell), each distinct value encoded once. */
export function utf8Column(values: readonly (string | null)[]): Vector<Utf8> {
  const cache = new Map<string, Uint8Array>();
  const parts: Uint8Array[] = [];
  const offsets = new Int32Array(values.length + 1);
  const valid = new Uint8Array(Math.ceil(values.length / 8));
  let bytes = 0;
  let nulls = 0;
  values.forEach((v, i) => {
    if (v === null) nulls += 1;
    else {
      valid[i >> 3]! |= 1 << (i & 7);
      let encoded = cache.get(v);
      if (!encoded) cache.set(v, (encoded = utf8.encode(v)));
      parts.push(encoded);
      bytes += encoded.length;
    }
    offsets[i + 1] = bytes;
  });
  const data = new Uint8Array(bytes);
  let at = 0;
  for (const part of parts) {
    data.set(part, at);
    at += part.length;
  }
  return makeVector(
    makeData({ type: new Utf8(), length: values.length, nullCount: nulls, valueOffsets: offsets, data, ...(nulls > 0 ? { nullBitmap: valid } : {}) }),
  );
}
