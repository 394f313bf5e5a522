import { renderScaleReportHtml, writeReportFiles, type Series } from '../report/index.js';
import { percentile } from '../eval/index.js';
import type { CellResult } from './cell.js';
import type { ScaleGridRun, simulateGrid } from './grid.js';

/*
 * The scale harness's report: report.json (every cell, the simulator's
 * check against them, its extrapolation, and the plots as data) and a
 * self-contained report.html drawing those plots (svg-plot.ts; the readback
 * script lets a headless browser test compare them with report.json).
 */

export type CellSummary = Omit<CellResult, 'samples'> & { shardP50Ms: number; shardP99Ms: number };

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  logX: boolean;
  series: Series[];
}

export interface ScaleReport {
  createdAt: string;
  setup: Record<string, string | number>;
  cells: CellSummary[];
  validation: ReturnType<typeof simulateGrid>['validation'];
  extrapolations: ReturnType<typeof simulateGrid>['extrapolations'];
  plots: PlotSpec[];
}

export function buildScaleReport(run: ScaleGridRun, simulated: ReturnType<typeof simulateGrid>, setup: ScaleReport['setup']): ScaleReport {
  const cells = run.cells.map(({ samples, ...cell }) => {
    const sorted = [...samples.shardMs].sort((a, b) => a - b);
    return { ...cell, shardP50Ms: percentile(sorted, 50), shardP99Ms: percentile(sorted, 99) };
  });
  const plots: PlotSpec[] = [];
  for (const index of [...new Set(cells.map((c) => c.index))]) {
    const one = cells.filter((c) => c.index === index && c.clients === 1);
    const validation = simulated.validation.filter((v) => v.index === index);
    const extrapolation = simulated.extrapolations.find((e) => e.index === index);
    const series: Series[] = [
      { name: 'measured', points: one.filter((c) => !c.hedged).map((c) => [c.shards, c.p99Ms]) },
      { name: 'predicted from the cell', points: validation.filter((v) => !v.hedged).map((v) => [v.shards, v.predicted.p99Ms]) },
      { name: 'measured, hedged', points: one.filter((c) => c.hedged).map((c) => [c.shards, c.p99Ms]) },
      { name: 'predicted, hedged', points: validation.filter((v) => v.hedged).map((v) => [v.shards, v.predicted.p99Ms]) },
    ];
    if (extrapolation) {
      series.push({ name: `simulated from ${extrapolation.from.shards} shards`, points: extrapolation.points.map((p) => [p.shards, p.plain.p99Ms]) });
      series.push({ name: `simulated, hedged`, points: extrapolation.points.map((p) => [p.shards, p.hedged.p99Ms]) });
    }
    plots.push({
      title: `${index}: p99 latency vs shards (one client)`,
      xLabel: 'shards',
      yLabel: 'p99 latency (ms)',
      logX: true,
      series: series.filter((s) => s.points.length > 0),
    });
    const unhedged = cells.filter((c) => c.index === index && !c.hedged);
    plots.push({
      title: `${index}: QPS vs clients`,
      xLabel: 'clients',
      yLabel: 'queries per second',
      logX: true,
      series: [...new Set(unhedged.map((c) => c.shards))].map((shards) => ({
        name: `${shards} shard${shards === 1 ? '' : 's'}`,
        points: unhedged.filter((c) => c.shards === shards).map((c) => [c.clients, c.qps] as [number, number]),
      })),
    });
  }
  return { createdAt: new Date().toISOString(), setup, cells, validation: simulated.validation, extrapolations: simulated.extrapolations, plots };
}

export function writeScaleReport(dir: string, report: ScaleReport): { json: string; html: string } {
  return writeReportFiles(dir, report, renderScaleReportHtml(report));
}
