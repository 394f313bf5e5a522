import { FaissIndex } from '../../faiss/index.js';
import { crossTowerGap, evaluateRun, positiveGeometry, rowDot, uniformity, type Qrels } from '../../eval/index.js';
import { mixSeed, seededRandom, shuffleInPlace } from '../../common/index.js';
import type { TextEncoder } from '../text-encoder.js';
import type { Corpus, QuerySet } from './data.js';

/*
 * Dev evaluation of an encoder: exhaustive (Faiss Flat, inner product) search
 * of the dev queries over a pool of passages — every judged passage plus
 * distractors sampled once from the corpus (or the whole corpus) — and the
 * geometry of the two towers (eval/geometry.ts defines each quantity):
 * positiveCosine and alignment over the judged pairs, uniformity of a fixed
 * sample of queries (f_q) and of passages (f_i), crossTowerGap over the
 * passage sample (and crossTowerGapQueries, the same over the query sample).
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

export async function evaluateEncoder(encoder: TextEncoder, corpus: Corpus, pool: DevPool): Promise<DevMetrics> {
  const dim = encoder.dim;
  const started = performance.now();
  const items = await encoder.encode(
    pool.passages.map((p) => corpus.texts[p]!),
    'item',
  );
  const queries = await encoder.encode(pool.queries.texts, 'query');
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
      cosSum += rowDot(queries, q, items, row, dim);
      pairs += 1;
    }
  });
  const { positiveCosine, alignment } = positiveGeometry(cosSum, pairs);

  let gapItems = 0;
  let gapQueries = 0;
  if (encoder.towers === 'separate') {
    const sampleItemTexts = pool.passageSample.map((r) => corpus.texts[pool.passages[r]!]!);
    const sampleQueryTexts = pool.querySample.map((q) => pool.queries.texts[q]!);
    const rowsOf = (v: Float32Array, rows: readonly number[]) => {
      const out = new Float32Array(rows.length * dim);
      rows.forEach((row, i) => out.set(v.subarray(row * dim, (row + 1) * dim), i * dim));
      return out;
    };
    gapItems = crossTowerGap(await encoder.encode(sampleItemTexts, 'query'), rowsOf(items, pool.passageSample), pool.passageSample.length, dim);
    gapQueries = crossTowerGap(rowsOf(queries, pool.querySample), await encoder.encode(sampleQueryTexts, 'item'), pool.querySample.length, dim);
  }
  return {
    queries: ranking.queries,
    poolSize: pool.passages.length,
    'Recall@10': ranking['Recall@10']!,
    'Recall@100': ranking['Recall@100']!,
    'MRR@10': ranking['MRR@10']!,
    'nDCG@10': ranking['nDCG@10']!,
    positiveCosine,
    alignment,
    uniformityQueries: uniformity(queries, pool.querySample, dim),
    uniformityItems: uniformity(items, pool.passageSample, dim),
    crossTowerGap: gapItems,
    crossTowerGapQueries: gapQueries,
    encodePassagesPerSecond: (pool.passages.length + pool.queries.ids.length) / encodeSeconds,
  };
}
