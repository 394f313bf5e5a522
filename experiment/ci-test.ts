import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { FaissIndex, assignLists, exactTopK, kmeans } from '../faiss/index.js';
import { loadTrainingData, openTextEncoder, type EncoderSettings } from '../encoder/index.js';
import { crossTowerGap, pairedBootstrap, pearson, positiveGeometry, rowDot, signTest, spearman, type SignTest } from '../eval/index.js';
import { finalStage, planPipeline, readPipelineState } from '../pipeline/index.js';
import { writeTextAtomically } from '../report/index.js';
import type { Logger } from '../common/index.js';
import type { Storage } from '../storage/index.js';
import type { GridCell, GridConfig } from './config.js';
import { ExperimentError } from './errors.js';
import { ivfLayout, walkIvf, type IvfLayout, type ProbePoint } from './ivf-walk.js';
import { meanStd, type MeanStd } from './report.js';

/*
 * A fair test of SCI's consistent indexing (SCI-SPEC §1.4) on the SCI grid's
 * checkpoints. Per checkpoint (cell × seed), over every judged query of the
 * split, three IVF-Flat layouts of the whole corpus with one global quantizer
 * each (nlist lists, faiss's IVF training: spherical k-means, 10 iterations):
 *   item   centroids and lists on the item tower's view f_i(I)  (ordinary IVF)
 *   ci     centroids and lists on the query tower's view f_q(I)  (CI)
 *   ci+q   as ci, the centroids trained with the training queries' f_q(Q) too
 *          (SCI-SPEC's extraTraining)
 * all storing f_i(I), probed by S(f_q(q), centroid), scored against f_i(I).
 * Each query walks every layout (ivf-walk.ts), so the comparison is paired
 * per query: at equal nprobe and at equal items scanned, whether the
 * positive's list was probed, the overlap with the exact top 10, Recall@10.
 * CI routes on f_q(I), so its case rests on Δcos = cos(f_q q, f_q d⁺) −
 * cos(f_q q, f_i d⁺) over judged pairs: CI can only help where the query
 * tower puts a query nearer its positive's query-view vector. The report
 * gives each difference with a sign test per checkpoint and, per variant
 * over its seeds, a paired bootstrap interval; and the correlation of CI's
 * gain with Δcos across checkpoints.
 */

export const CI_METHODS = ['item', 'ci', 'ci+q'] as const;
export type CiMethod = (typeof CI_METHODS)[number];
export const CI_PAIRS = ['ci', 'ci+q'] as const satisfies readonly CiMethod[];
export type CiPair = (typeof CI_PAIRS)[number];
const PAIR_METRICS = ['recall', 'overlap', 'probed'] as const;
type PairMetric = (typeof PAIR_METRICS)[number];

export const METHOD_DESCRIPTIONS: Record<CiMethod, string> = {
  item: 'IVF: centroids and lists on f_i(I)',
  ci: 'CI: centroids and lists on f_q(I), lists store f_i(I)',
  'ci+q': 'CI with the training queries f_q(Q) added to the centroid training',
};

export interface PointMeans extends Omit<ProbePoint, 'scanned'> {
  /** nprobe, or the budget's nominal lists (items = lists × n / nlist). */
  at: number;
  scanned: number;
}

export interface PairedMetric extends SignTest {
  /** Mean per-query difference (method − item). */
  mean: number;
}
export type PairedPoint = { at: number } & Record<PairMetric, PairedMetric>;

/**
 * A variant's difference over its seeds. Every seed measures the same queries, so the unit is the
 * query: its difference averaged over the seeds. The interval resamples queries (one draw applied to
 * every seed, since a query hard for one seed is mostly hard for all), the sign test counts queries
 * by their mean difference, and the per-seed means show how much the training seed moves it.
 */
export interface BootstrapMetric extends PairedMetric {
  /** 95% bootstrap interval of the mean over queries (each query's difference averaged over the seeds). */
  low: number;
  high: number;
  /** The mean difference of each seed, in the variant's seed order. */
  seedMeans: number[];
}
export type VariantPoint = { at: number } & Record<PairMetric, BootstrapMetric>;

export interface CheckpointResult {
  cell: string;
  labels: Record<string, string>;
  seed: number;
  checkpoint: string;
  queries: number;
  /** mean cos(f_q q, f_q d⁺) − cos(f_q q, f_i d⁺) over judged pairs. */
  deltaCos: number;
  /** mean cos(f_q q, f_i d⁺): what the stored view scores. */
  positiveCosine: number;
  /** mean 1 − cos(f_q(x), f_i(x)) over every passage. */
  crossTowerGap: number;
  /** Faiss's imbalance factor of each layout's lists (1 = equal sizes). */
  imbalance: Record<CiMethod, number>;
  /** Queries whose walk ran out of probe order before the last point. */
  truncated: Record<CiMethod, number>;
  methods: Record<CiMethod, { atNprobe: PointMeans[]; atBudget: PointMeans[] }>;
  pairs: Record<CiPair, { atNprobe: PairedPoint[]; atBudget: PairedPoint[] }>;
}

export interface VariantResult {
  cell: string;
  labels: Record<string, string>;
  seeds: number[];
  queries: number;
  deltaCos: MeanStd;
  crossTowerGap: MeanStd;
  pairs: Record<CiPair, { atNprobe: VariantPoint[]; atBudget: VariantPoint[] }>;
}

export interface CorrelationResult {
  pair: CiPair;
  grid: 'nprobe' | 'budget';
  at: number;
  /** Checkpoints: (Δcos, mean Recall@10 difference) each. */
  n: number;
  pearson: number;
  spearman: number;
}

export interface CiTestReport {
  title: string;
  split: string;
  nlist: number;
  k: number;
  corpus: number;
  nprobes: number[];
  /** Nominal lists of each budget; items scanned = lists × corpus / nlist, rounded. */
  budgetLists: number[];
  budgets: number[];
  methods: Record<CiMethod, string>;
  /** The point the summary and the correlation headline use. */
  headline: { grid: 'nprobe' | 'budget'; at: number };
  checkpoints: CheckpointResult[];
  variants: VariantResult[];
  correlations: CorrelationResult[];
  /** Cell-seeds with no finished final stage (skipped). */
  missing: Array<{ cell: string; seed: number }>;
  /** Judged queries left out: no positive, or a positive outside the corpus. */
  skippedQueries: number;
  createdAt: string;
}

export interface CiTestOptions {
  grid: GridConfig;
  cells: readonly GridCell[];
  seeds: readonly number[];
  storage: Storage;
  logger: Logger;
  /** @defaultValue 1024 */
  nlist?: number;
  /** @defaultValue [1, 2, 4, 8, 16, 32, 64] */
  nprobes?: readonly number[];
  /** @defaultValue the cells' eval split */
  split?: string;
  /** 0 = every judged query of the split. @defaultValue 0 */
  maxQueries?: number;
  /** Engine and provider (the threads are this machine's cores). */
  encoder?: EncoderSettings;
  /** Per-query outcomes at the headline point, one TSV per checkpoint (optional). */
  queriesDir?: string;
  /** @defaultValue 2000 */
  resamples?: number;
}

const K = 10;
/** The training queries' split (sci train's, which the grids' pipelines train on). */
const TRAIN_SPLIT = 'train';
const HEADLINE = { grid: 'nprobe' as const, at: 8 };

/** The final stage's checkpoint of a finished cell-seed, or null. */
async function finalCheckpoint(cell: GridCell, seed: number, storage: Storage): Promise<string | null> {
  const plan = planPipeline(cell.config, seed);
  const state = existsSync(plan.stateFile) ? await readPipelineState(storage, plan.stateFile) : null;
  const stage = finalStage(cell.config);
  return state?.results.find((r) => r.stage === stage && r.checkpoint !== null && r.split === cell.config.eval.split)?.checkpoint ?? null;
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** nlist · Σ size² / n², faiss's imbalance factor. */
function imbalanceOf(layout: IvfLayout): number {
  const n = layout.listOf.length;
  const squares = layout.lists.reduce((s, l) => s + l.length * l.length, 0);
  return (layout.nlist * squares) / (n * n);
}

/** The three layouts' centroids and lists. */
async function buildLayouts(
  itemView: Float32Array,
  queryView: Float32Array,
  trainQueries: Float32Array,
  dim: number,
  nlist: number,
): Promise<Record<CiMethod, { centroids: Float32Array; layout: IvfLayout }>> {
  // faiss's own IVF training for inner product (as the index jobs train theirs).
  const train = async (vectors: Float32Array) =>
    (await kmeans(vectors, dim, nlist, { metric: 'ip', spherical: true, niter: 10, seed: 1234, maxPointsPerCentroid: 256 })).centroids;
  const layoutOf = async (centroids: Float32Array, assignView: Float32Array) => ({
    centroids,
    layout: ivfLayout(await assignLists(assignView, centroids, dim, 'ip'), nlist),
  });
  return {
    item: await layoutOf(await train(itemView), itemView),
    ci: await layoutOf(await train(queryView), queryView),
    'ci+q': await layoutOf(await train(concat(queryView, trainQueries)), queryView),
  };
}

interface CheckpointWalks {
  result: CheckpointResult;
  /** Per pair, grid and point: per-query differences of each metric. */
  differences: Record<CiPair, Record<'atNprobe' | 'atBudget', Array<Record<PairMetric, Float32Array>>>>;
}

function pairedPoint(at: number, diffs: Record<PairMetric, Float32Array>): PairedPoint {
  const metric = (values: Float32Array): PairedMetric => ({ mean: values.reduce((a, b) => a + b, 0) / Math.max(1, values.length), ...signTest(values) });
  return { at, recall: metric(diffs.recall), overlap: metric(diffs.overlap), probed: metric(diffs.probed) };
}

async function measureCheckpoint(
  options: CiTestOptions,
  target: { cell: GridCell; seed: number; checkpoint: string },
  data: { passages: string[]; queryIds: string[]; queryTexts: string[]; positives: number[][]; trainQueries: string[] },
  grids: { nprobes: readonly number[]; budgetLists: readonly number[] },
): Promise<CheckpointWalks> {
  const { logger } = options;
  const nlist = options.nlist ?? 1024;
  // One process does the encoding: every core, whatever a worker's pool thread is given.
  const encoder = await openTextEncoder(target.checkpoint, { ...options.encoder, threads: availableParallelism(), logger });
  let views: { item: Float32Array; query: Float32Array; queries: Float32Array; train: Float32Array };
  try {
    views = {
      item: await encoder.encode(data.passages, 'item'),
      query: await encoder.encode(data.passages, 'query'),
      queries: await encoder.encode(data.queryTexts, 'query'),
      train: await encoder.encode(data.trainQueries, 'query'),
    };
  } finally {
    encoder.dispose();
  }
  const dim = encoder.dim;
  const n = data.passages.length;
  const nq = data.queryIds.length;
  const budgets = grids.budgetLists.map((lists) => Math.round((lists * n) / nlist));
  logger.info({ cell: target.cell.name, seed: target.seed, passages: n, queries: nq }, 'CI test: encoded; building the three layouts');

  // Geometry: Δcos over judged pairs and the stored view's positive cosine (the cross-tower gap over every passage below).
  let deltaSum = 0;
  let cosSum = 0;
  let pairs = 0;
  data.positives.forEach((rows, q) => {
    for (const row of rows) {
      const stored = rowDot(views.queries, q, views.item, row, dim);
      deltaSum += rowDot(views.queries, q, views.query, row, dim) - stored;
      cosSum += stored;
      pairs += 1;
    }
  });

  const layouts = await buildLayouts(views.item, views.query, views.train, dim, nlist);
  const exact = await exactTopK(
    views.item,
    BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
    dim,
    views.queries,
    K,
    'ip',
  );
  // Every list in probe order: an equal-work point keeps probing past small or empty lists (centroids
  // trained with queries can attract a query to a near-empty list) until its budget is spent.
  const depth = nlist;
  const outcomes = {} as Record<CiMethod, { atNprobe: ProbePoint[][]; atBudget: ProbePoint[][]; truncated: number }>;
  for (const method of CI_METHODS) {
    const { centroids, layout } = layouts[method];
    const coarse = FaissIndex.create({ dim, factory: 'Flat', metric: 'ip' });
    await coarse.add(centroids);
    const { labels } = await coarse.search(views.queries, depth);
    const atNprobe: ProbePoint[][] = [];
    const atBudget: ProbePoint[][] = [];
    let truncated = 0;
    const order = new Int32Array(depth);
    for (let q = 0; q < nq; q++) {
      for (let j = 0; j < depth; j++) order[j] = Number(labels[q * depth + j]!);
      const exactRows = Array.from(exact.subarray(q * K, (q + 1) * K), Number);
      const walk = walkIvf({
        dim,
        stored: views.item,
        layout,
        query: views.queries.subarray(q * dim, (q + 1) * dim),
        order,
        positives: data.positives[q]!,
        exact: exactRows,
        k: K,
        nprobes: grids.nprobes,
        budgets,
      });
      atNprobe.push(walk.atNprobe);
      atBudget.push(walk.atBudget);
      if (walk.truncated) truncated += 1;
    }
    outcomes[method] = { atNprobe, atBudget, truncated };
  }

  const means = (points: ProbePoint[][], at: readonly number[]): PointMeans[] =>
    at.map((value, i) => {
      const mean = (pick: (p: ProbePoint) => number) => points.reduce((s, perQuery) => s + pick(perQuery[i]!), 0) / Math.max(1, points.length);
      return { at: value, probed: mean((p) => p.probed), overlap: mean((p) => p.overlap), recall: mean((p) => p.recall), scanned: mean((p) => p.scanned) };
    });
  const differencesOf = (method: CiPair, grid: 'atNprobe' | 'atBudget', count: number) =>
    Array.from({ length: count }, (_, i) => {
      const out = {} as Record<PairMetric, Float32Array>;
      for (const metric of PAIR_METRICS)
        out[metric] = Float32Array.from({ length: nq }, (_, q) => outcomes[method][grid][q]![i]![metric] - outcomes.item[grid][q]![i]![metric]);
      return out;
    });
  const differences = {} as CheckpointWalks['differences'];
  const pairResults = {} as CheckpointResult['pairs'];
  for (const method of CI_PAIRS) {
    differences[method] = { atNprobe: differencesOf(method, 'atNprobe', grids.nprobes.length), atBudget: differencesOf(method, 'atBudget', budgets.length) };
    pairResults[method] = {
      atNprobe: differences[method].atNprobe.map((d, i) => pairedPoint(grids.nprobes[i]!, d)),
      atBudget: differences[method].atBudget.map((d, i) => pairedPoint(grids.budgetLists[i]!, d)),
    };
  }
  if (options.queriesDir) writeQueryOutcomes(options.queriesDir, target, data.queryIds, outcomes, grids);
  const result: CheckpointResult = {
    cell: target.cell.name,
    labels: target.cell.labels,
    seed: target.seed,
    checkpoint: target.checkpoint,
    queries: nq,
    deltaCos: pairs === 0 ? 0 : deltaSum / pairs,
    positiveCosine: positiveGeometry(cosSum, pairs).positiveCosine,
    crossTowerGap: crossTowerGap(views.query, views.item, n, dim),
    imbalance: Object.fromEntries(CI_METHODS.map((m) => [m, imbalanceOf(layouts[m].layout)])) as Record<CiMethod, number>,
    truncated: Object.fromEntries(CI_METHODS.map((m) => [m, outcomes[m].truncated])) as Record<CiMethod, number>,
    methods: Object.fromEntries(
      CI_METHODS.map((m) => [
        m,
        {
          atNprobe: means(outcomes[m].atNprobe, grids.nprobes),
          atBudget: means(outcomes[m].atBudget, grids.budgetLists),
        },
      ]),
    ) as CheckpointResult['methods'],
    pairs: pairResults,
  };
  return { result, differences };
}

/** Every query's outcome of every layout at the headline nprobe, as TSV (the paired data behind the summary). */
function writeQueryOutcomes(
  dir: string,
  target: { cell: GridCell; seed: number },
  queryIds: readonly string[],
  outcomes: Record<CiMethod, { atNprobe: ProbePoint[][] }>,
  grids: { nprobes: readonly number[] },
): void {
  const i = grids.nprobes.indexOf(HEADLINE.at);
  if (i < 0) return;
  mkdirSync(dir, { recursive: true });
  const header = ['query', ...CI_METHODS.flatMap((m) => [`${m}.probed`, `${m}.overlap`, `${m}.recall`, `${m}.scanned`])].join('\t');
  const lines = queryIds.map((id, q) =>
    [
      id,
      ...CI_METHODS.flatMap((m) => {
        const p = outcomes[m].atNprobe[q]![i]!;
        return [p.probed, p.overlap, p.recall, p.scanned];
      }),
    ].join('\t'),
  );
  writeTextAtomically(join(dir, `${target.cell.name}.seed-${target.seed}.nprobe-${HEADLINE.at}.tsv`), `${header}\n${lines.join('\n')}\n`);
}

function variantPoint(at: number, perSeed: ReadonlyArray<Record<PairMetric, Float32Array>>, resamples: number, seed: number): VariantPoint {
  const out = { at } as VariantPoint;
  PAIR_METRICS.forEach((metric, m) => {
    const groups = perSeed.map((d) => d[metric]);
    const queries = groups[0]!.length;
    if (groups.some((g) => g.length !== queries))
      throw new ExperimentError(`the seeds measured different numbers of queries: ${groups.map((g) => g.length).join(', ')}`);
    const perQuery = new Float64Array(queries);
    for (const g of groups) for (let q = 0; q < queries; q++) perQuery[q]! += g[q]! / groups.length;
    const interval = pairedBootstrap([perQuery], { resamples, seed: seed * 31 + m });
    const seedMeans = groups.map((g) => g.reduce((a, b) => a + b, 0) / Math.max(1, g.length));
    out[metric] = { mean: interval.mean, low: interval.low, high: interval.high, seedMeans, ...signTest(perQuery) };
  });
  return out;
}

export async function runCiTest(options: CiTestOptions): Promise<CiTestReport> {
  const { grid, cells, seeds, logger } = options;
  if (cells.length === 0) throw new ExperimentError('the grid has no cells');
  const nlist = options.nlist ?? 1024;
  const nprobes = [...(options.nprobes ?? [1, 2, 4, 8, 16, 32, 64])].sort((a, b) => a - b);
  if (nprobes.some((p) => !Number.isInteger(p) || p < 1 || p > nlist))
    throw new ExperimentError(`nprobe values must be integers in 1..${nlist}: ${nprobes.join(',')}`);
  const split = options.split ?? cells[0]!.config.eval.split;
  const resamples = options.resamples ?? 2000;
  // ci+q trains its centroids on the training queries: judging on them would measure on training data.
  if (split === TRAIN_SPLIT) throw new ExperimentError(`the judged split must not be the training split (${TRAIN_SPLIT}): ci+q's centroids are trained on it`);

  const data = await loadTrainingData(grid.corpus.passages, { trainSplit: TRAIN_SPLIT, devSplit: split });
  const judged = data.querySet(split);
  const queryIds: string[] = [];
  const queryTexts: string[] = [];
  const positives: number[][] = [];
  let skippedQueries = 0;
  judged.ids.forEach((id, q) => {
    const rows = [...(judged.qrels.get(id) ?? [])].filter(([, grade]) => grade > 0).map(([doc]) => data.corpus.position.get(doc));
    if (rows.length === 0 || rows.some((r) => r === undefined)) {
      skippedQueries += 1;
      return;
    }
    queryIds.push(id);
    queryTexts.push(judged.texts[q]!);
    positives.push(rows as number[]);
  });
  if (skippedQueries > 0)
    logger.warn(
      { split, skippedQueries },
      'CI test: judged queries with no positive or a positive outside the corpus are left out (the same for every layout)',
    );
  if (options.maxQueries && queryIds.length > options.maxQueries) {
    queryIds.length = queryTexts.length = positives.length = options.maxQueries;
  }
  if (queryIds.length === 0) throw new ExperimentError(`no judged ${split} queries whose passages are in ${grid.corpus.passages}`);
  const trainQueries = [...new Map(data.pairs.map((p) => [p.queryId, p.query])).values()];
  const n = data.corpus.texts.length;
  if (nlist > n) throw new ExperimentError(`nlist ${nlist} is larger than the corpus (${n} passages)`);
  const grids = { nprobes, budgetLists: nprobes };

  const checkpoints: CheckpointResult[] = [];
  const missing: Array<{ cell: string; seed: number }> = [];
  const byCell = new Map<string, CheckpointWalks[]>();
  for (const cell of cells)
    for (const seed of seeds) {
      const checkpoint = await finalCheckpoint(cell, seed, options.storage);
      if (!checkpoint) {
        logger.warn({ cell: cell.name, seed }, 'CI test: no finished final stage, skipped');
        missing.push({ cell: cell.name, seed });
        continue;
      }
      const started = Date.now();
      const walks = await measureCheckpoint(
        options,
        { cell, seed, checkpoint },
        { passages: data.corpus.texts, queryIds, queryTexts, positives, trainQueries },
        grids,
      );
      logger.info({ cell: cell.name, seed, seconds: (Date.now() - started) / 1000, deltaCos: walks.result.deltaCos }, 'CI test: checkpoint measured');
      checkpoints.push(walks.result);
      byCell.set(cell.name, [...(byCell.get(cell.name) ?? []), walks]);
    }

  const variants: VariantResult[] = [];
  for (const cell of cells) {
    const walks = byCell.get(cell.name) ?? [];
    if (walks.length === 0) continue;
    const pairs = {} as VariantResult['pairs'];
    for (const method of CI_PAIRS)
      pairs[method] = {
        atNprobe: nprobes.map((at, i) =>
          variantPoint(
            at,
            walks.map((w) => w.differences[method].atNprobe[i]!),
            resamples,
            i + 1,
          ),
        ),
        atBudget: nprobes.map((at, i) =>
          variantPoint(
            at,
            walks.map((w) => w.differences[method].atBudget[i]!),
            resamples,
            100 + i,
          ),
        ),
      };
    variants.push({
      cell: cell.name,
      labels: cell.labels,
      seeds: walks.map((w) => w.result.seed),
      queries: walks[0]!.result.queries,
      deltaCos: meanStd(walks.map((w) => w.result.deltaCos)),
      crossTowerGap: meanStd(walks.map((w) => w.result.crossTowerGap)),
      pairs,
    });
  }

  const correlations: CorrelationResult[] = [];
  for (const method of CI_PAIRS)
    for (const gridName of ['nprobe', 'budget'] as const)
      nprobes.forEach((at, i) => {
        const xs = checkpoints.map((c) => c.deltaCos);
        const ys = checkpoints.map((c) => (gridName === 'nprobe' ? c.pairs[method].atNprobe[i]! : c.pairs[method].atBudget[i]!).recall.mean);
        correlations.push({ pair: method, grid: gridName, at, n: xs.length, pearson: pearson(xs, ys), spearman: spearman(xs, ys) });
      });

  return {
    title: grid.title,
    split,
    nlist,
    k: K,
    corpus: n,
    nprobes,
    budgetLists: nprobes,
    budgets: nprobes.map((lists) => Math.round((lists * n) / nlist)),
    methods: METHOD_DESCRIPTIONS,
    headline: HEADLINE,
    checkpoints,
    variants,
    correlations,
    missing,
    skippedQueries,
    createdAt: new Date().toISOString(),
  };
}
