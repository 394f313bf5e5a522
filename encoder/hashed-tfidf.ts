import { readFileSync, writeFileSync } from 'node:fs';
import { EnglishAnalyzer } from '../bm25/index.js';
import type { TextEncoder } from './text-encoder.js';

/*
 * The untrained baseline encoder: hashed bag of words with TF-IDF weights
 * and a fixed random projection to `dim` dimensions, L2-normalised.
 *
 * Terms (the BM25 analyzer's: lowercase, stop words, Porter stems) hash into
 * `buckets` (FNV-1a); a document's sparse vector has weight
 * (1 + ln tf) · idf(bucket) per bucket, idf = ln((1 + N) / (1 + df)) + 1 with
 * df counted over the whole corpus (the `fit` stage); each bucket projects
 * onto a fixed row of ±1/√dim values drawn from (seed, bucket), so every
 * worker computes the same embedding without sharing a matrix. Both views
 * (query, passage) use the same map: one tower.
 */

export interface HashedTfidfModel {
  buckets: number;
  dim: number;
  seed: number;
  docCount: number;
  idf: Float32Array;
}

export function bucketOf(term: string, buckets: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) h = Math.imul(h ^ term.charCodeAt(i), 0x01000193);
  return (h >>> 0) % buckets;
}

/** Document frequencies of hashed terms over some documents (one shard). */
export class DfCounter {
  private readonly analyzer = new EnglishAnalyzer();
  readonly df: Uint32Array;
  docs = 0;
  private readonly seen = new Set<number>();

  constructor(readonly buckets: number) {
    this.df = new Uint32Array(buckets);
  }

  add(text: string): void {
    this.seen.clear();
    for (const term of this.analyzer.analyze(text)) this.seen.add(bucketOf(term, this.buckets));
    for (const b of this.seen) this.df[b]! += 1;
    this.docs += 1;
  }
}

export function writeDf(path: string, counter: DfCounter): void {
  const header = Buffer.alloc(8);
  header.writeUInt32LE(counter.docs, 0);
  header.writeUInt32LE(counter.buckets, 4);
  writeFileSync(path, Buffer.concat([header, Buffer.from(counter.df.buffer, counter.df.byteOffset, counter.df.byteLength)]));
}

export function readDf(path: string): { docs: number; df: Uint32Array } {
  const bytes = readFileSync(path);
  const docs = bytes.readUInt32LE(0);
  const buckets = bytes.readUInt32LE(4);
  const df = new Uint32Array(buckets);
  Buffer.from(df.buffer).set(bytes.subarray(8, 8 + buckets * 4));
  return { docs, df };
}

/** Merges per-shard document frequencies into the model's idf. */
export function fitModel(parts: Array<{ docs: number; df: Uint32Array }>, spec: { buckets: number; dim: number; seed: number }): HashedTfidfModel {
  const df = new Float64Array(spec.buckets);
  let docCount = 0;
  for (const part of parts) {
    if (part.df.length !== spec.buckets) throw new Error(`df of ${part.df.length} buckets, model has ${spec.buckets}`);
    docCount += part.docs;
    for (let b = 0; b < spec.buckets; b++) df[b]! += part.df[b]!;
  }
  const idf = new Float32Array(spec.buckets);
  for (let b = 0; b < spec.buckets; b++) idf[b] = Math.log((1 + docCount) / (1 + df[b]!)) + 1;
  return { ...spec, docCount, idf };
}

export function saveModel(dir: string, model: HashedTfidfModel): { config: string; idf: string } {
  const config = `${dir}/encoder.json`;
  const idf = `${dir}/idf.f32`;
  writeFileSync(idf, Buffer.from(model.idf.buffer, model.idf.byteOffset, model.idf.byteLength));
  writeFileSync(
    config,
    `${JSON.stringify({ kind: 'hashed-tfidf', buckets: model.buckets, dim: model.dim, seed: model.seed, docCount: model.docCount, idf: 'idf.f32' }, null, 2)}\n`,
  );
  return { config, idf };
}

export function loadModel(configPath: string, idfPath: string): HashedTfidfModel {
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as { buckets: number; dim: number; seed: number; docCount: number };
  const bytes = readFileSync(idfPath);
  const idf = new Float32Array(config.buckets);
  Buffer.from(idf.buffer).set(bytes.subarray(0, config.buckets * 4));
  return { ...config, idf };
}

export class HashedTfidfEncoder {
  private readonly analyzer = new EnglishAnalyzer();
  private readonly rows = new Map<number, Float32Array>();
  private readonly scale: number;

  constructor(readonly model: HashedTfidfModel) {
    this.scale = 1 / Math.sqrt(model.dim);
  }

  get dim(): number {
    return this.model.dim;
  }

  /** Writes the embedding of `text` into `out` (length dim); an empty text gives zeros. */
  encodeInto(text: string, out: Float32Array): void {
    out.fill(0);
    const tf = new Map<number, number>();
    for (const term of this.analyzer.analyze(text)) {
      const b = bucketOf(term, this.model.buckets);
      tf.set(b, (tf.get(b) ?? 0) + 1);
    }
    for (const [b, count] of tf) {
      const weight = (1 + Math.log(count)) * this.model.idf[b]!;
      const row = this.row(b);
      for (let j = 0; j < out.length; j++) out[j]! += weight * row[j]!;
    }
    let norm = 0;
    for (let j = 0; j < out.length; j++) norm += out[j]! * out[j]!;
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let j = 0; j < out.length; j++) out[j]! *= inv;
    }
  }

  encode(texts: readonly string[]): Float32Array {
    const out = new Float32Array(texts.length * this.model.dim);
    texts.forEach((text, i) => this.encodeInto(text, out.subarray(i * this.model.dim, (i + 1) * this.model.dim)));
    return out;
  }

  private row(bucket: number): Float32Array {
    let row = this.rows.get(bucket);
    if (!row) {
      row = new Float32Array(this.model.dim);
      let state = (Math.imul(bucket + 1, 0x9e3779b1) ^ Math.imul(this.model.seed + 0x632be5ab, 0x85ebca6b)) >>> 0 || 1;
      for (let j = 0; j < row.length; j++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        row[j] = (state & 1) === 0 ? this.scale : -this.scale;
      }
      if (this.rows.size < 2_000_000) this.rows.set(bucket, row);
    }
    return row;
  }
}

/** The baseline as a TextEncoder (one tower: both views give the same vector). */
export function hashedTextEncoder(model: HashedTfidfModel): TextEncoder {
  const encoder = new HashedTfidfEncoder(model);
  return {
    dim: model.dim,
    towers: 'shared',
    description: { 'sci.encoder': 'hashed-tfidf' },
    encode: async (texts) => encoder.encode(texts),
    dispose: () => {},
  };
}
