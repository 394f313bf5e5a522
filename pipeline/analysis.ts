import { isGraphFactory } from '../faiss/index.js';
import { readArrowVectors } from '../vectors/index.js';
import { mixSeed, seededRandom, type Logger } from '../common/index.js';
import {
  crossTowerGap,
  evaluateIndexes,
  evaluateRun,
  loadJudgedQueries,
  positiveGeometry,
  rowDot,
  uniformity,
  type IndexReport,
  type Qrels,
} from '../eval/index.js';
import { readEmbeddingIds, type SearchService } from '../search/index.js';
import { withServedIndexSet } from './served-index-set.js';
import { readSetManifest, readSynsetTagCounts, shardFile } from '../shards/index.js';
import type { NatsConnection } from 'nats';
import type { Storage } from '../storage/index.js';
import type { EncoderSettings } from '../encoder/index.js';
import { PipelineError } from './errors.js';
import type { AnalysisTarget } from './plan.js';

/*
 * A stage's research measurements over the whole corpus (the experiment
 * grid's cells):
 *   indexes      every index of the stage's set evaluated through
 *                scatter-gather, with its nprobe / efSearch sweep (overlap
 *                with the same model's Flat, distances per query);
 *   hnsw         distances per query at equal overlap with Flat: the sweep
 *                interpolated (linearly in overlap) to `equalOverlap`, so
 *                models are compared at the same recall of their own exact
 *                top 10 (the thesis's topology claim);
 *   geometry     cos(f_q(q), f_i(d⁺)) over the judged dev pairs (mean and
 *                histogram), alignment E||f_q(q) − f_i(d⁺)||², uniformity
 *                log E exp(−2||x − y||²) over sampled passages' stored
 *                vectors, and the cross-tower gap E(1 − cos(f_q(I), f_i(I)))
 *                over the same passages (0 for shared towers);
 *   longTail     (WordNet) Recall@10 of every index over the queries
 *                bucketed by their synset's sense-tag count in index.sense.
 */

export interface EqualOverlapPoint {
  index: string;
  target: number;
  /** null when the sweep never reached the target. */
  efSearch: number | null;
  ndisPerQuery: number | null;
  recallAt10: number | null;
  /** Highest overlap the sweep reached. */
  maxOverlap: number;
}

export interface AnalysisResult {
  stage: string;
  split: string;
  checkpoint: string;
  trainedSteps: number;
  queries: number;
  indexes: IndexReport[];
  hnswAtEqualOverlap: EqualOverlapPoint[];
  /** WordNet: Recall@10 per index over queries bucketed by their synset's sense-tag count (null for other corpora). */
  longTail: LongTailBucket[] | null;
  geometry: {
    pairs: number;
    positiveCosine: number;
    /** Counts of positive cosines in bins of `binWidth` from -1 to 1. */
    positiveCosineHistogram: { binWidth: number; counts: number[] };
    alignment: number;
    uniformity: number;
    crossTowerGap: number;
    sample: number;
    views: string[];
  };
  fingerprint: string;
  measuredAt: string;
}

export interface LongTailBucket {
  /** Tag counts in [min, max]; max null = no upper bound. */
  bucket: string;
  min: number;
  max: number | null;
  queries: number;
  recallAt10: Record<string, number>;
}

/** Sense-tag count buckets: never tagged (the tail) to frequent. */
export const TAG_COUNT_BUCKETS: ReadonlyArray<{ bucket: string; min: number; max: number | null }> = [
  { bucket: '0', min: 0, max: 0 },
  { bucket: '1-4', min: 1, max: 4 },
  { bucket: '5-19', min: 5, max: 19 },
  { bucket: '20+', min: 20, max: null },
];

/** Recall@10 of every index's run over the queries of each tag-count bucket (a query's count: its judged synsets' largest). */
export function longTailSlice(
  runs: ReadonlyMap<string, ReadonlyMap<string, ReadonlyArray<{ docId: string }>>>,
  qrels: Qrels,
  tagCounts: ReadonlyMap<string, number>,
): LongTailBucket[] {
  const countOf = (queryId: string) => Math.max(0, ...[...(qrels.get(queryId) ?? [])].filter(([, g]) => g > 0).map(([doc]) => tagCounts.get(doc) ?? 0));
  const queryIds = [...(runs.values().next().value?.keys() ?? [])];
  return TAG_COUNT_BUCKETS.map(({ bucket, min, max }) => {
    const ids = new Set(queryIds.filter((id) => countOf(id) >= min && (max === null || countOf(id) <= max)));
    const recallAt10: Record<string, number> = {};
    for (const [index, run] of runs) {
      const sliced = new Map([...run].filter(([id]) => ids.has(id)).map(([id, hits]) => [id, hits.map((h) => h.docId)]));
      recallAt10[index] = evaluateRun(sliced, qrels, { recall: [10], ndcg: [], mrr: [] })['Recall@10']!;
    }
    return { bucket, min, max, queries: ids.size, recallAt10 };
  });
}

export interface AnalysisOptions {
  nc: NatsConnection;
  storage: Storage;
  encoderSettings?: EncoderSettings | undefined;
  passages: string;
  maxQueries: number;
  sweepQueries: number;
  equalOverlap: number;
  sample: number;
  seed: number;
  /** WordNet dictionary folder of the corpus (for the long-tail slice); null for other corpora. */
  wordnetDict: string | null;
  logger: Logger;
  fingerprint: string;
}

/** Distances per query where the efSearch sweep's overlap with Flat reaches `target` (linear between the bracketing points). */
export function atEqualOverlap(report: IndexReport, target: number): EqualOverlapPoint {
  const points = report.sweep.filter((p) => p.param === 'efSearch' && p['annRecall@10'] !== null);
  const maxOverlap = Math.max(0, ...points.map((p) => p['annRecall@10']!));
  const at = points.findIndex((p) => p['annRecall@10']! >= target);
  const none = { index: report.index, target, efSearch: null, ndisPerQuery: null, recallAt10: null, maxOverlap };
  if (at < 0) return none;
  const hi = points[at]!;
  if (at === 0) return { ...none, efSearch: hi.value, ndisPerQuery: hi.ndisPerQuery, recallAt10: hi['Recall@10'] };
  const lo = points[at - 1]!;
  const t = (target - lo['annRecall@10']!) / (hi['annRecall@10']! - lo['annRecall@10']!);
  const lerp = (a: number, b: number) => a + t * (b - a);
  return {
    ...none,
    efSearch: lerp(lo.value, hi.value),
    ndisPerQuery: lerp(lo.ndisPerQuery, hi.ndisPerQuery),
    recallAt10: lerp(lo['Recall@10'], hi['Recall@10']),
  };
}

const BIN_WIDTH = 0.05;

export async function analyseStage(target: AnalysisTarget, options: AnalysisOptions): Promise<AnalysisResult> {
  const { nc, storage, logger } = options;
  const { encoderSettings } = options;
  return withServedIndexSet({ nc, storage, indexSet: target.indexSet, logger, maxK: 1000, encoderSettings }, async (service) => {
    const { sample, qrels } = loadJudgedQueries({
      queries: options.passages,
      split: target.split,
      ...(options.maxQueries > 0 ? { maxQueries: options.maxQueries } : {}),
    });
    const names = service.router.indexSet.names.filter((n) => n !== 'bm25');
    const { reports, runs } = await evaluateIndexes(service, names, sample, qrels, {
      k: 100,
      batchSize: 128,
      latencyQueries: 50,
      sweep: true,
      sweepQueries: options.sweepQueries,
      deadlineMs: 60_000,
      onProgress: (message) => logger.debug({ stage: target.stage }, message),
    });
    const partial = reports.find((r) => r.partialAnswers > 0);
    if (partial)
      throw new PipelineError(`${target.stage} analysis: ${partial.partialAnswers} partial answers from ${partial.index}; not recording lower numbers`);
    const hnswAtEqualOverlap = reports.filter((r) => isGraphFactory(r.factory)).map((r) => atEqualOverlap(r, options.equalOverlap));
    const geometry = await measureGeometry(target, sample, qrels, service, options);
    const tagCounts = options.wordnetDict ? readSynsetTagCounts(options.wordnetDict) : null;
    return {
      stage: target.stage,
      split: target.split,
      checkpoint: target.checkpoint,
      trainedSteps: target.trainedSteps,
      queries: sample.ids.length,
      indexes: reports,
      hnswAtEqualOverlap,
      longTail: tagCounts ? longTailSlice(runs, qrels, tagCounts) : null,
      geometry,
      fingerprint: options.fingerprint,
      measuredAt: new Date().toISOString(),
    };
  });
}

async function measureGeometry(
  target: AnalysisTarget,
  sample: { ids: string[]; texts: string[] },
  qrels: Map<string, Map<string, number>>,
  service: SearchService,
  options: AnalysisOptions,
): Promise<AnalysisResult['geometry']> {
  const set = await readSetManifest(options.storage, target.embeddings, 'embeddings');
  const dim = set.dim;
  const twoViews = set.views.includes('embedding_q') && set.views.includes('embedding_i');
  // Passages the judged pairs need, by external id; and a seeded sample of rows for uniformity and the gap.
  const wanted = new Set(sample.ids.flatMap((id) => [...(qrels.get(id) ?? [])].filter(([, g]) => g > 0).map(([doc]) => doc)));
  const total = set.shards.reduce((s, x) => s + x.rows, 0);
  const random = seededRandom(mixSeed(options.seed, 0x6e0));
  const picked = new Set<number>();
  while (picked.size < Math.min(options.sample, total)) picked.add(Math.floor(random() * total));
  const positives = new Map<string, Float32Array>();
  const sampledItems = new Float32Array(picked.size * dim);
  const sampledQueryView = new Float32Array(picked.size * dim);
  let offset = 0;
  let taken = 0;
  for (const shard of set.shards) {
    const file = await shardFile(options.storage, target.embeddings, 'embeddings', shard.id);
    const items = readArrowVectors(file, ['embedding', 'embedding_i']);
    const queryView = twoViews ? readArrowVectors(file, 'embedding_q') : items;
    const { externalIds } = await readEmbeddingIds(options.storage, target.embeddings, shard.id);
    for (let r = 0; r < items.count; r++) {
      const id = externalIds[r]!;
      if (wanted.has(id)) positives.set(id, items.data.slice(r * dim, (r + 1) * dim));
      if (picked.has(offset + r)) {
        sampledItems.set(items.data.subarray(r * dim, (r + 1) * dim), taken * dim);
        sampledQueryView.set(queryView.data.subarray(r * dim, (r + 1) * dim), taken * dim);
        taken += 1;
      }
    }
    offset += items.count;
  }
  const counts = new Array<number>(Math.round(2 / BIN_WIDTH)).fill(0);
  let cosSum = 0;
  let pairs = 0;
  for (let from = 0; from < sample.ids.length; from += 256) {
    const vectors = await service.encode(sample.texts.slice(from, from + 256), 'query');
    sample.ids.slice(from, from + 256).forEach((id, i) => {
      for (const [doc, grade] of qrels.get(id) ?? []) {
        const d = positives.get(doc);
        if (grade <= 0 || !d) continue;
        const cos = rowDot(vectors, i, d, 0, dim);
        cosSum += cos;
        pairs += 1;
        counts[Math.min(counts.length - 1, Math.max(0, Math.floor((cos + 1) / BIN_WIDTH)))]! += 1;
      }
    });
  }
  const rows = Array.from({ length: taken }, (_, i) => i);
  // One tower: both views are the same vectors, and the gap is 0.
  const gap = twoViews ? crossTowerGap(sampledQueryView, sampledItems, taken, dim) : 0;
  const { positiveCosine, alignment } = positiveGeometry(cosSum, pairs);
  return {
    pairs,
    positiveCosine,
    positiveCosineHistogram: { binWidth: BIN_WIDTH, counts },
    alignment,
    uniformity: uniformity(sampledItems, rows, dim),
    crossTowerGap: gap,
    sample: taken,
    views: set.views,
  };
}
