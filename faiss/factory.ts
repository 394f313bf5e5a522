import { FaissInvalidArgumentError } from './errors.js';
import type { IndexKind, Metric } from './native.js';

/*
 * Factory strings as users write them (`HNSW32,Flat`, `IVF1024,PQ16`) become
 * what the binding builds:
 * - types that cannot store ids themselves (Flat, HNSW, PQ, LSH) get an
 *   `IDMap,` prefix, so every index stores our global row ids;
 * - `PQ{m}` gets the `np` suffix (no polysemous training: 5-10x faster to
 *   train here, same ADC search results);
 * - `LSH` / `LSH{nbits}` (l2 only: faiss LSH hashes sign bits of a random rotation).
 */

export interface ResolvedFactory {
  /** What faiss is asked to build. */
  description: string;
  kind: IndexKind;
}

const IVF = /^IVF(\d+),(Flat|PQ(\d+)(x\d+)?(np)?)$/;
const HNSW = /^HNSW(\d+)(,Flat)?$/;
const PQ = /^PQ(\d+)(x\d+)?(np)?$/;
const LSH = /^LSH(\d+)?$/;

export function resolveFactory(factory: string, metric: Metric, dim: number): ResolvedFactory {
  const spec = factory.replace(/\s+/g, '');
  const plain = spec.startsWith('IDMap,') ? spec.slice('IDMap,'.length) : spec;
  const fail = (why: string) => new FaissInvalidArgumentError(`factory "${factory}": ${why}`, { field: 'factory' });
  let match: RegExpExecArray | null;
  if (plain === 'Flat') return { description: 'IDMap,Flat', kind: 'flat' };
  if ((match = IVF.exec(plain))) {
    if (Number(match[1]) <= 0) throw fail('IVF needs at least one list');
    if (match[2] === 'Flat') return { description: plain, kind: 'ivf' };
    checkPq(Number(match[3]), dim, fail);
    return { description: match[5] ? plain : `${plain}np`, kind: 'ivfpq' };
  }
  if ((match = HNSW.exec(plain))) {
    if (Number(match[1]) < 2) throw fail('HNSW needs M >= 2');
    return { description: `IDMap,HNSW${match[1]},Flat`, kind: 'hnsw' };
  }
  if ((match = PQ.exec(plain))) {
    checkPq(Number(match[1]), dim, fail);
    return { description: `IDMap,${match[3] ? plain : `${plain}np`}`, kind: 'pq' };
  }
  if ((match = LSH.exec(plain))) {
    if (metric !== 'l2') throw fail('LSH supports only the l2 metric; for L2-normalised vectors l2 ranks exactly as ip');
    return { description: `IDMap,LSH${match[1] ?? String(dim)}`, kind: 'lsh' };
  }
  throw fail('expected Flat, IVF{n},Flat, IVF{n},PQ{m}, HNSW{M},Flat, PQ{m} or LSH[{nbits}]');
}

function checkPq(m: number, dim: number, fail: (why: string) => Error): void {
  if (m <= 0 || dim % m !== 0) throw fail(`PQ sub-quantizer count ${m} must divide the dimension ${dim}`);
}

/** An IVF factory string's coarse and fine layers (`IVF256,Flat`, `IVF256,PQ16`, `IVF256,PQ16x4`), or null for other kinds. */
export function parseIvfFactory(factory: string): { nlist: number; pq: { m: number; nbits: number } | null } | null {
  const match = IVF.exec(factory.replace(/\s+/g, ''));
  if (!match) return null;
  return { nlist: Number(match[1]), pq: match[2] === 'Flat' ? null : { m: Number(match[3]), nbits: match[4] ? Number(match[4].slice(1)) : 8 } };
}
