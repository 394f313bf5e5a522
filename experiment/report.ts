import { existsSync, readFileSync } from 'node:fs';
import { renderGridHtml, seriesName, writeReportFiles, type PlotOptions } from '../report/index.js';
import { finalStage, planPipeline, readPipelineState, type AnalysisResult, type EvalResult } from '../pipeline/index.js';
import { REPORT_METRICS } from '../eval/index.js';
import type { Storage } from '../storage/index.js';
import type { GridCell, GridConfig } from './config.js';

/*
 * The grid's report: every cell's rows (mean ± sample std over the seeds
 * that finished), the baselines, and plots chosen by what the grid measured:
 *   dev Recall@10 against each numeric axis (baselines as flat lines);
 *   HNSW distances per query at equal overlap with the model's own Flat;
 *   the histogram of cos(f_q(q), f_i(d⁺)); alignment against uniformity;
 *   Recall@10 and distances per query against nprobe, per IVF factory
 *   (item-view and dual-view indexes side by side); the cross-tower gap.
 * report.json holds the rows and every plotted series (what the page draws).
 */

export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

export function meanStd(values: readonly number[]): MeanStd {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, n: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

export interface SweepSummary {
  index: string;
  factory: string;
  dualView: boolean;
  param: 'nprobe' | 'efSearch';
  points: Array<{ value: number; recall: MeanStd; overlap: MeanStd | null; ndisPerQuery: MeanStd }>;
}

export interface GridRow {
  cell: string;
  labels: Record<string, string>;
  values: Record<string, unknown>;
  row: string;
  stage: string;
  /** Seeds whose dev evaluation of this row is done. */
  seeds: number[];
  dev: Record<string, MeanStd>;
  test: Record<string, MeanStd>;
  hnsw: { target: number; ndisPerQuery: MeanStd; efSearch: MeanStd; reached: number } | null;
  geometry: {
    positiveCosine: MeanStd;
    alignment: MeanStd;
    uniformity: MeanStd;
    crossTowerGap: MeanStd;
    histogram: { binWidth: number; fractions: number[] };
  } | null;
  sweeps: SweepSummary[];
  /** WordNet: Recall@10 per sense-tag-count bucket and index (mean over seeds). */
  longTail: Array<{ bucket: string; queries: number; recallAt10: Record<string, MeanStd> }> | null;
}

export interface GridReport {
  title: string;
  description: string;
  notes: string[];
  createdAt: string;
  seeds: number[];
  axes: Array<{ name: string; key: string; labels: string[] }>;
  baselines: Array<{ name: string; dev: Record<string, MeanStd>; test: Record<string, MeanStd> }>;
  rows: GridRow[];
  plots: PlotOptions[];
}

const metricsOf = (results: readonly EvalResult[]): Record<string, MeanStd> =>
  Object.fromEntries(REPORT_METRICS.map((m) => [m, meanStd(results.map((r) => r.metrics[m]).filter((v): v is number => v !== undefined))]));

function readAnalysis(file: string): AnalysisResult | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as AnalysisResult) : null;
}

function summarizeSweeps(analyses: readonly AnalysisResult[]): SweepSummary[] {
  const first = analyses[0];
  if (!first) return [];
  return first.indexes
    .filter((r) => r.sweep.length > 0)
    .map((r) => ({
      index: r.index,
      factory: r.factory,
      dualView: r.dualView,
      param: r.sweep[0]!.param,
      points: r.sweep.map((p) => {
        const same = analyses.flatMap((a) => a.indexes.find((x) => x.index === r.index)?.sweep.find((q) => q.value === p.value) ?? []);
        const overlaps = same.map((q) => q['annRecall@10']).filter((v): v is number => v !== null);
        return {
          value: p.value,
          recall: meanStd(same.map((q) => q['Recall@10'])),
          overlap: overlaps.length > 0 ? meanStd(overlaps) : null,
          ndisPerQuery: meanStd(same.map((q) => q.ndisPerQuery)),
        };
      }),
    }));
}

function summarizeLongTail(analyses: readonly AnalysisResult[]): GridRow['longTail'] {
  const slices = analyses.map((a) => a.longTail).filter((l): l is NonNullable<AnalysisResult['longTail']> => l !== null && l !== undefined);
  if (slices.length === 0) return null;
  return slices[0]!.map((b, i) => ({
    bucket: b.bucket,
    queries: b.queries,
    recallAt10: Object.fromEntries(Object.keys(b.recallAt10).map((index) => [index, meanStd(slices.map((s) => s[i]!.recallAt10[index]!))])),
  }));
}

export async function buildGridReport(grid: GridConfig, cells: readonly GridCell[], seeds: readonly number[], storage: Storage): Promise<GridReport> {
  const rows: GridRow[] = [];
  const baselineResults = new Map<string, EvalResult[]>();
  for (const cell of cells) {
    const perRow = new Map<string, { results: EvalResult[]; analyses: AnalysisResult[]; seeds: number[] }>();
    for (const seed of seeds) {
      const plan = planPipeline(cell.config, seed);
      const state = existsSync(plan.stateFile) ? await readPipelineState(storage, plan.stateFile) : null;
      if (!state) continue;
      // Baselines are seed-independent (measured once, shared by every cell): one result per split.
      for (const r of state.results) {
        const kept = baselineResults.get(r.stage) ?? [];
        if (r.checkpoint === null && !kept.some((k) => k.split === r.split)) baselineResults.set(r.stage, [...kept, r]);
      }
      for (const wanted of grid.rows) {
        const stage = wanted.stage === 'final' ? finalStage(cell.config) : wanted.stage;
        const entry = perRow.get(wanted.label) ?? { results: [], analyses: [], seeds: [] };
        const mine = state.results.filter((r) => r.stage === stage);
        if (mine.some((r) => r.split === cell.config.eval.split)) entry.seeds.push(seed);
        entry.results.push(...mine);
        const analysisStep = plan.steps.find((s) => s.kind === 'analyse' && s.target.stage === stage);
        const analysis = analysisStep?.kind === 'analyse' ? readAnalysis(analysisStep.target.resultFile) : null;
        if (analysis) entry.analyses.push(analysis);
        perRow.set(wanted.label, entry);
      }
    }
    for (const wanted of grid.rows) {
      const entry = perRow.get(wanted.label) ?? { results: [], analyses: [], seeds: [] };
      const stage = wanted.stage === 'final' ? finalStage(cell.config) : wanted.stage;
      const hnswPoints = entry.analyses.flatMap((a) => a.hnswAtEqualOverlap.slice(0, 1));
      const reached = hnswPoints.filter((p) => p.ndisPerQuery !== null);
      const geometry = entry.analyses.map((a) => a.geometry);
      const histogram = geometry[0]
        ? {
            binWidth: geometry[0].positiveCosineHistogram.binWidth,
            fractions: geometry[0].positiveCosineHistogram.counts.map((_, i) => {
              const fractions = geometry.map((g) => g.positiveCosineHistogram.counts[i]! / Math.max(1, g.pairs));
              return fractions.reduce((a, b) => a + b, 0) / fractions.length;
            }),
          }
        : null;
      rows.push({
        cell: cell.name,
        labels: cell.labels,
        values: cell.values,
        row: wanted.label,
        stage,
        seeds: entry.seeds,
        dev: metricsOf(entry.results.filter((r) => r.split === cell.config.eval.split)),
        test: metricsOf(entry.results.filter((r) => r.split === cell.config.eval.testSplit)),
        hnsw:
          hnswPoints.length > 0
            ? {
                target: hnswPoints[0]!.target,
                ndisPerQuery: meanStd(reached.map((p) => p.ndisPerQuery!)),
                efSearch: meanStd(reached.map((p) => p.efSearch!)),
                reached: reached.length,
              }
            : null,
        geometry:
          geometry.length > 0 && histogram
            ? {
                positiveCosine: meanStd(geometry.map((g) => g.positiveCosine)),
                alignment: meanStd(geometry.map((g) => g.alignment)),
                uniformity: meanStd(geometry.map((g) => g.uniformity)),
                crossTowerGap: meanStd(geometry.map((g) => g.crossTowerGap)),
                histogram,
              }
            : null,
        sweeps: summarizeSweeps(entry.analyses),
        longTail: summarizeLongTail(entry.analyses),
      });
    }
  }
  const baselines = [...baselineResults].map(([name, results]) => ({
    name,
    dev: metricsOf(results.filter((r) => r.split === cells[0]!.config.eval.split)),
    test: metricsOf(results.filter((r) => r.split === cells[0]!.config.eval.testSplit)),
  }));
  const report: GridReport = {
    title: grid.title,
    description: grid.description,
    notes: grid.notes,
    createdAt: new Date().toISOString(),
    seeds: [...seeds],
    axes: grid.axes.map((a) => ({ name: a.name, key: a.key, labels: cells.map((c) => c.labels[a.name]!).filter((v, i, all) => all.indexOf(v) === i) })),
    baselines,
    rows,
    plots: [],
  };
  report.plots = gridPlots(grid, report);
  return report;
}

/** Series name of a row: the labels of the axes other than `except`, and the row label (when the grid has several rows). */
function gridPlots(grid: GridConfig, report: GridReport): PlotOptions[] {
  const plots: PlotOptions[] = [];
  const nameOf = (row: GridRow, except: string | null) => seriesName(row, except, grid.rows.length > 1);
  const done = report.rows.filter((r) => r.seeds.length > 0);
  const numericAxes = grid.axes.filter((a) => a.values.length > 1 && a.values.every((v) => typeof v === 'number'));
  for (const axis of numericAxes) {
    const groups = new Map<string, Array<[number, number]>>();
    const hnsw = new Map<string, Array<[number, number]>>();
    for (const row of done) {
      const x = row.values[axis.name] as number;
      const name = nameOf(row, axis.name);
      groups.set(name, [...(groups.get(name) ?? []), [x, row.dev['Recall@10']!.mean]]);
      if (row.hnsw && row.hnsw.ndisPerQuery.n > 0) hnsw.set(name, [...(hnsw.get(name) ?? []), [x, row.hnsw.ndisPerQuery.mean]]);
    }
    const xs = (axis.values as number[]).slice().sort((a, b) => a - b);
    const flat = report.baselines
      .filter((b) => Number.isFinite(b.dev['Recall@10']?.mean))
      .map((b) => ({ name: b.name, points: [xs[0]!, xs.at(-1)!].map((x) => [x, b.dev['Recall@10']!.mean] as [number, number]) }));
    if (groups.size > 0)
      plots.push({
        title: `dev Recall@10 vs ${axis.name}`,
        xLabel: `${axis.name} (${axis.key})`,
        yLabel: 'Recall@10 (whole corpus, mean over seeds)',
        series: [...[...groups].map(([name, points]) => ({ name, points })), ...flat],
      });
    if (hnsw.size > 0) {
      const target = done.find((r) => r.hnsw)!.hnsw!.target;
      plots.push({
        title: `HNSW distances per query at overlap ${target} vs ${axis.name}`,
        xLabel: `${axis.name} (${axis.key})`,
        yLabel: `distances / query at ${target} overlap with own Flat`,
        series: [...hnsw].map(([name, points]) => ({ name, points })),
      });
    }
  }
  const withGeometry = done.filter((r) => r.geometry);
  if (withGeometry.length > 0) {
    plots.push({
      title: 'Histogram of cos(f_q(q), f_i(d+)) over judged dev pairs',
      xLabel: 'cosine (bin centre)',
      yLabel: 'fraction of pairs',
      series: withGeometry.map((r) => ({
        name: nameOf(r, null),
        points: r
          .geometry!.histogram.fractions.map((y, i) => [-1 + (i + 0.5) * r.geometry!.histogram.binWidth, y] as [number, number])
          .filter(([x]) => x > -0.5),
      })),
    });
    plots.push({
      title: 'Alignment vs uniformity (lower is better on both)',
      xLabel: 'uniformity: log E exp(-2||x-y||²) over passages',
      yLabel: 'alignment: E||f_q(q) - f_i(d+)||²',
      series: withGeometry.map((r) => ({ name: nameOf(r, null), points: [[r.geometry!.uniformity.mean, r.geometry!.alignment.mean]] })),
    });
    if (withGeometry.some((r) => r.geometry!.crossTowerGap.mean > 0))
      plots.push({
        title: 'Cross-tower gap vs dev Recall@10',
        xLabel: 'cross-tower gap E(1 - cos(f_q(I), f_i(I)))',
        yLabel: 'dev Recall@10',
        series: withGeometry.map((r) => ({ name: nameOf(r, null), points: [[r.geometry!.crossTowerGap.mean, r.dev['Recall@10']!.mean]] })),
      });
  }
  const tails = done.filter((r) => r.longTail);
  if (tails.length > 0)
    plots.push({
      title: 'Long tail: Flat Recall@10 by the synset’s sense-tag count',
      xLabel: `bucket (${tails[0]!.longTail!.map((b, i) => `${i} = ${b.bucket}`).join(', ')})`,
      yLabel: 'dev Recall@10 (Flat)',
      series: tails.map((r) => ({
        name: nameOf(r, null),
        points: r.longTail!.map((b, i) => [i, b.recallAt10.flat?.mean ?? Number.NaN] as [number, number]),
      })),
    });
  const factories = [...new Set(done.flatMap((r) => r.sweeps.filter((s) => s.param === 'nprobe').map((s) => s.factory)))];
  for (const factory of factories) {
    for (const [what, pick] of [
      ['Recall@10', (p: SweepSummary['points'][number]) => p.recall.mean],
      ['distances / query', (p: SweepSummary['points'][number]) => p.ndisPerQuery.mean],
    ] as const) {
      const series = done.flatMap((r) =>
        r.sweeps
          .filter((s) => s.factory === factory && s.param === 'nprobe')
          .map((s) => ({
            name: `${nameOf(r, null)} · ${s.index}${s.dualView ? ' (CI)' : ''}`,
            points: s.points.map((p) => [p.value, pick(p)] as [number, number]),
          })),
      );
      plots.push({ title: `${what} vs nprobe, ${factory}`, xLabel: 'nprobe', yLabel: `${what} (dev, mean over seeds)`, series, logX: true });
    }
  }
  return plots;
}

export function writeGridReport(dir: string, report: GridReport): { json: string; html: string } {
  return writeReportFiles(dir, report, renderGridHtml(report));
}
