import { FaissIndex } from '../../faiss/index.js';
import { evaluateRun, type Qrels } from '../../eval/index.js';
import { mixSeed, seededRandom, shuffleInPlace } from '../../common/index.js';
import type { TextEncoder } from '../text-encoder.js';
import type { Corpus, QuerySet } from './data.js';

/*
 * Dev evaluation of an encoder: exhaustive (Faiss Flat, inner product) search
 * of the dev queries over a pool of passages — every judged passage plus
 * distractors sampled once from the corpus (or the whole corpus) — and the
 * geometry of the two towers:
 *   positiveCosine  mean cos(f_q(q), f_i(d⁺)) over judged pairs
 *   alignment       mean ||f_q(q) − f_i(d⁺)||² (Wang & Isola, α = 2)
 *   uniformity      log mean exp(−2 ||x − y||²) over distinct pairs of a fixed
 *                   sample, for queries (f_q) and items (f_i) separately
 *   crossTowerGap   mean (1 − cos(f_q(x), f_i(x))) over the same inputs x,
 *                   queries and items alike (0 for shared towers)
 */

export interface DevPool {
  queries: QuerySet;
  /** Corpus positions searched. */
  passages: number[];
  /** Fixed samples for uniformity and the gap: positions into queries.ids / passages. */
  querySample: number[];
  passageSample: number[];
}

export interface DevMetrics {
  [name: string]: number;
}

export function buildDevPool(dev: QuerySet, corpus: Corpus, options: { queries: number; poolSize: number; sample: number; seed: number }): DevPool {
  const random = seededRandom(mixSeed(options.seed, 0xde5));
  let ids = dev.ids;
  if (options.queries > 0 && options.queries < ids.length)
    ids = shuffleInPlace([...ids], random)
      .slice(0, options.queries)
      .sort();
  const texts = ids.map((id) => dev.texts[dev.ids.indexOf(id)]!);
  const qrels: Qrels = new Map(ids.map((id) => [id, dev.qrels.get(id) ?? new Map()]));
  let passages: number[];
  if (options.poolSize === 0 || options.poolSize >= corpus.texts.length) {
    passages = Array.from(corpus.texts.keys());
  } else {
    const chosen = new Set<number>();
    for (const judged of qrels.values()) for (const [pid, grade] of judged) if (grade > 0 && corpus.position.has(pid)) chosen.add(corpus.position.get(pid)!);
    const rest = shuffleInPlace(
      Array.from(corpus.texts.keys()).filter((p) => !chosen.has(p)),
      random,
    );
    for (const p of rest) {
      if (chosen.size >= options.poolSize) break;
      chosen.add(p);
    }
    passages = [...chosen].sort((a, b) => a - b);
  }
  const sampleOf = (n: number) =>
    shuffleInPlace(
      Array.from({ length: n }, (_, i) => i),
      random,
    ).slice(0, options.sample);
  return { queries: { ids, texts, qrels }, passages, querySample: sampleOf(ids.length), passageSample: sampleOf(passages.length) };
}

const dot = (a: Float32Array, i: number, b: Float32Array, j: number, dim: number) => {
  let s = 0;
  for (let x = 0; x < dim; x++) s += a[i * dim + x]! * b[j * dim + x]!;
  return s;
};

/** Wang & Isola uniformity over distinct pairs of rows `rows` of `v` (unit vectors: ||x − y||² = 2 − 2·x·y). */
export function uniformity(v: Float32Array, rows: readonly number[], dim: number): number {
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < rows.length; a++) {
    for (let b = a + 1; b < rows.length; b++) {
      sum += Math.exp(-2 * (2 - 2 * dot(v, rows[a]!, v, rows[b]!, dim)));
      pairs += 1;
    }
  }
  return pairs === 0 ? 0 : Math.log(sum / pairs);
}

export async function evaluateEncoder(encoder: TextEncoder, corpus: Corpus, pool: DevPool): Promise<DevMetrics> {
  const dim = encoder.dim;
  const started = performance.now();
  const items = encoder.encode(
    pool.passages.map((p) => corpus.texts[p]!),
    'item',
  );
  const queries = encoder.encode(pool.queries.texts, 'query');
  const encodeSeconds = (performance.now() - started) / 1000;

  const index = FaissIndex.create({ dim, factory: 'Flat', metric: 'ip' });
  await index.add(
    items,
    BigInt64Array.from(pool.passages, (p) => BigInt(p)),
  );
  const k = Math.min(100, pool.passages.length);
  const result = await index.search(queries, k);
  const run = new Map<string, string[]>();
  pool.queries.ids.forEach((id, q) => {
    const ranked: string[] = [];
    for (let r = 0; r < k; r++) {
      const label = result.labels[q * k + r]!;
      if (label >= 0n) ranked.push(corpus.externalIds[Number(label)]!);
    }
    run.set(id, ranked);
  });
  const ranking = evaluateRun(run, pool.queries.qrels, { ndcg: [10], mrr: [10], recall: [10, 100] });

  const rowOf = new Map(pool.passages.map((p, row) => [p, row]));
  let cosSum = 0;
  let pairs = 0;
  pool.queries.ids.forEach((id, q) => {
    for (const [pid, grade] of pool.queries.qrels.get(id) ?? []) {
      const row = rowOf.get(corpus.position.get(pid) ?? -1);
      if (grade <= 0 || row === undefined) continue;
      cosSum += dot(queries, q, items, row, dim);
      pairs += 1;
    }
  });
  const positiveCosine = pairs === 0 ? 0 : cosSum / pairs;

  let gapQueries = 0;
  let gapItems = 0;
  if (encoder.towers === 'separate') {
    const sampleQueryTexts = pool.querySample.map((q) => pool.queries.texts[q]!);
    const sampleItemTexts = pool.passageSample.map((r) => corpus.texts[pool.passages[r]!]!);
    const queriesByItemTower = encoder.encode(sampleQueryTexts, 'item');
    const itemsByQueryTower = encoder.encode(sampleItemTexts, 'query');
    gapQueries = pool.querySample.reduce((s, q, i) => s + 1 - dot(queries, q, queriesByItemTower, i, dim), 0) / Math.max(1, pool.querySample.length);
    gapItems = pool.passageSample.reduce((s, r, i) => s + 1 - dot(items, r, itemsByQueryTower, i, dim), 0) / Math.max(1, pool.passageSample.length);
  }
  return {
    queries: ranking.queries,
    poolSize: pool.passages.length,
    'Recall@10': ranking['Recall@10']!,
    'Recall@100': ranking['Recall@100']!,
    'MRR@10': ranking['MRR@10']!,
    'nDCG@10': ranking['nDCG@10']!,
    positiveCosine,
    alignment: 2 - 2 * positiveCosine,
    uniformityQueries: uniformity(queries, pool.querySample, dim),
    uniformityItems: uniformity(items, pool.passageSample, dim),
    crossTowerGap: (gapQueries + gapItems) / 2,
    crossTowerGapQueries: gapQueries,
    crossTowerGapItems: gapItems,
    encodePassagesPerSecond: (pool.passages.length + pool.queries.ids.length) / encodeSeconds,
  };
}
