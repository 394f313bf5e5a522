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

/** A graph index's factory string (`HNSW32`, `HNSW32,Flat`, with or without `IDMap,`): what graph groups rebuild per group. */
export function isGraphFactory(factory: string): boolean {
  const spec = factory.replace(/\s+/g, '');
  return HNSW.test(spec.startsWith('IDMap,') ? spec.slice('IDMap,'.length) : spec);
}

/** An IVF factory string's coarse and fine layers (`IVF256,Flat`, `IVF256,PQ16`, `IVF256,PQ16x4`), or null for other kinds. */
export function parseIvfFactory(factory: string): { nlist: number; pq: { m: number; nbits: number } | null } | null {
  const match = IVF.exec(factory.replace(/\s+/g, ''));
  if (!match) return null;
  return { nlist: Number(match[1]), pq: match[2] === 'Flat' ? null : { m: Number(match[3]), nbits: match[4] ? Number(match[4].slice(1)) : 8 } };
}

/**
 * What one index may ask for, whatever the machine: past these a build would exhaust memory or
 * time on any worker (JetStream would then redeliver it to each worker in turn). Rows give the
 * other bound: k-means needs at least one training row per list.
 */
export const FACTORY_LIMITS = {
  /** IVF coarse lists. */
  maxNlist: 1 << 20,
  /** HNSW neighbours per node. */
  maxHnswM: 256,
  /** Bits per PQ code. */
  maxPqBits: 16,
  /** LSH code bits. */
  maxLshBits: 8192,
} as const;

/**
 * Checks a factory string's parameters against FACTORY_LIMITS and against the rows an index is
 * trained on (`trainingRows`: a shard's rows, or a shared quantizer's sample); throws
 * FaissInvalidArgumentError (field `factory`) naming the parameter and its bound.
 */
export function checkFactoryLimits(factory: string, metric: Metric, dim: number, trainingRows: number): void {
  const resolved = resolveFactory(factory, metric, dim);
  const plain = factory.replace(/\s+/g, '').replace(/^IDMap,/, '');
  const fail = (why: string) => new FaissInvalidArgumentError(`factory "${factory}": ${why}`, { field: 'factory' });
  const ivf = parseIvfFactory(plain);
  if (ivf) {
    if (ivf.nlist > FACTORY_LIMITS.maxNlist) throw fail(`IVF${ivf.nlist} has more than ${FACTORY_LIMITS.maxNlist} lists`);
    if (ivf.nlist > trainingRows) throw fail(`IVF${ivf.nlist} needs at least ${ivf.nlist} training rows (one per list); it gets ${trainingRows}`);
  }
  const pqBits = ivf?.pq?.nbits ?? (resolved.kind === 'pq' ? Number(/x(\d+)/.exec(plain)?.[1] ?? 8) : null);
  if (pqBits !== null && (pqBits < 1 || pqBits > FACTORY_LIMITS.maxPqBits))
    throw fail(`PQ codes of ${pqBits} bits: 1 to ${FACTORY_LIMITS.maxPqBits} supported`);
  if (pqBits !== null && 2 ** pqBits > trainingRows)
    throw fail(`PQ codes of ${pqBits} bits need at least ${2 ** pqBits} training rows; it gets ${trainingRows}`);
  const hnsw = HNSW.exec(plain);
  if (hnsw && Number(hnsw[1]) > FACTORY_LIMITS.maxHnswM) throw fail(`HNSW${hnsw[1]}: M is at most ${FACTORY_LIMITS.maxHnswM}`);
  const lsh = LSH.exec(plain);
  if (lsh && Number(lsh[1] ?? dim) > FACTORY_LIMITS.maxLshBits) throw fail(`LSH${lsh[1]}: at most ${FACTORY_LIMITS.maxLshBits} bits`);
}
