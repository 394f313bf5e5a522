import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ANALYZER_VERSION } from './analyzer.js';
import { Bm25Index } from './bm25-index.js';
import { Bm25IndexError } from './errors.js';
import { packPostings, unpackPostings } from './postings-codec.js';
import { tempPathFor } from '../common/index.js';

/*
 * On-disk form of one shard's BM25 index, a folder:
 *   meta.json          format, analyzer, parameters, counts, array layout, checksum
 *   terms.txt          the sorted dictionary, one term per line
 *   external-ids.jsonl one JSON string per document
 *   arrays.bin         offsets u32 | docs | tfs | norms u8 | rowIds f64, each 8-byte aligned;
 *                      docs and tfs packed as varints (postings-codec.ts: per-term document gaps)
 * Written to a temp folder and renamed. Format 1 (docs u32, tfs u16 as they are) still loads.
 */

export const BM25_FORMAT = 'sci-cluster/bm25@2';
const BM25_FORMAT_PLAIN = 'sci-cluster/bm25@1';

const LayoutSchema = z.strictObject({ offset: z.number().int().nonnegative(), length: z.number().int().nonnegative() });
const MetaSchema = z.strictObject({
  format: z.enum([BM25_FORMAT, BM25_FORMAT_PLAIN]),
  analyzer: z.string(),
  params: z.strictObject({ k1: z.number(), b: z.number() }),
  docCount: z.number().int().nonnegative(),
  termCount: z.number().int().nonnegative(),
  postings: z.number().int().nonnegative(),
  sumTotalTermFreq: z.number().int().nonnegative(),
  arraysSha256: z.string(),
  layout: z.strictObject({ offsets: LayoutSchema, docs: LayoutSchema, tfs: LayoutSchema, norms: LayoutSchema, rowIds: LayoutSchema }),
});
type Meta = z.infer<typeof MetaSchema>;

export function saveBm25(index: Bm25Index, dir: string): void {
  const p = index.parts;
  const packed = packPostings(p.offsets, p.docs, p.tfs);
  const arrays = [p.offsets, packed.docs, packed.tfs, p.norms, p.rowIds] as const;
  const names = ['offsets', 'docs', 'tfs', 'norms', 'rowIds'] as const;
  let size = 0;
  const layout = {} as Meta['layout'];
  // Lengths in elements (bytes for the packed streams).
  arrays.forEach((array, i) => {
    layout[names[i]!] = { offset: size, length: array.length };
    size += Math.ceil(array.byteLength / 8) * 8;
  });
  const bin = Buffer.alloc(size);
  arrays.forEach((array, i) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).copy(bin, layout[names[i]!].offset));
  const meta: Meta = {
    format: BM25_FORMAT,
    analyzer: ANALYZER_VERSION,
    params: p.params,
    docCount: p.norms.length,
    termCount: p.terms.length,
    postings: p.docs.length,
    sumTotalTermFreq: p.sumTotalTermFreq,
    arraysSha256: createHash('sha256').update(bin).digest('hex'),
    layout,
  };
  const temp = tempPathFor(dir);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  writeFileSync(join(temp, 'arrays.bin'), bin);
  writeFileSync(join(temp, 'terms.txt'), p.terms.length === 0 ? '' : `${p.terms.join('\n')}\n`);
  writeFileSync(join(temp, 'external-ids.jsonl'), p.externalIds.map((id) => `${JSON.stringify(id)}\n`).join(''));
  writeFileSync(join(temp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  renameSync(temp, dir);
}

export function loadBm25(dir: string, options: { verify?: boolean } = {}): Bm25Index {
  const metaPath = join(dir, 'meta.json');
  let meta: Meta;
  try {
    meta = MetaSchema.parse(JSON.parse(readFileSync(metaPath, 'utf8')));
  } catch (err) {
    throw new Bm25IndexError(`not a BM25 index folder: ${(err as Error).message}`, { file: metaPath, cause: err });
  }
  if (meta.analyzer !== ANALYZER_VERSION)
    throw new Bm25IndexError(`built with analyzer ${meta.analyzer}, this build has ${ANALYZER_VERSION}; rebuild the index`, { file: metaPath });
  const bin = readFileSync(join(dir, 'arrays.bin'));
  if (options.verify && createHash('sha256').update(bin).digest('hex') !== meta.arraysSha256)
    throw new Bm25IndexError('arrays.bin does not match its checksum', { file: join(dir, 'arrays.bin') });
  // Copy into an 8-byte aligned buffer so the typed-array views are valid.
  const aligned = new ArrayBuffer(bin.length);
  new Uint8Array(aligned).set(bin);
  const view = <T>(make: new (buffer: ArrayBuffer, offset: number, length: number) => T, part: { offset: number; length: number }) =>
    new make(aligned, part.offset, part.length);
  const terms = readFileSync(join(dir, 'terms.txt'), 'utf8').split('\n');
  terms.pop();
  const externalIds = readFileSync(join(dir, 'external-ids.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as string);
  if (terms.length !== meta.termCount || externalIds.length !== meta.docCount)
    throw new Bm25IndexError(`index files disagree with meta.json (${terms.length} terms, ${externalIds.length} ids)`, { file: dir });
  const offsets = view(Uint32Array, meta.layout.offsets);
  const postings =
    meta.format === BM25_FORMAT_PLAIN
      ? { docs: view(Uint32Array, meta.layout.docs), tfs: view(Uint16Array, meta.layout.tfs) }
      : unpackPostings(offsets, { docs: view(Uint8Array, meta.layout.docs), tfs: view(Uint8Array, meta.layout.tfs) }, meta.postings, join(dir, 'arrays.bin'));
  return new Bm25Index({
    params: meta.params,
    terms,
    offsets,
    docs: postings.docs,
    tfs: postings.tfs,
    norms: view(Uint8Array, meta.layout.norms),
    rowIds: view(Float64Array, meta.layout.rowIds),
    externalIds,
    sumTotalTermFreq: meta.sumTotalTermFreq,
  });
}
