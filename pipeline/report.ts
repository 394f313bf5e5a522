import { escapeHtml, linePlot, reportPage, writeReportFiles, type Series } from '../report/index.js';
import type { PipelineConfig } from './config.js';
import type { EvalResult, PipelineState } from './state.js';

/*
 * What a pipeline run reports: per seed, report.json (the state's results)
 * and report.html (a table, and each dev metric against training steps with
 * the baselines as flat lines); over seeds, summary.json and summary.html
 * with mean ± sample standard deviation per row.
 */

export const REPORT_METRICS = ['Recall@10', 'MRR@10', 'nDCG@10', 'Recall@100'] as const;

export interface SummaryRow {
  stage: string;
  split: string;
  trainedSteps: number | null;
  seeds: number;
  queries: number;
  mean: Record<string, number>;
  std: Record<string, number>;
}

export interface PipelineSummary {
  seeds: number[];
  rows: SummaryRow[];
}

type Row = Pick<EvalResult, 'stage' | 'split' | 'trainedSteps'>;

/** Pipeline order: the dev split before the test split; baselines, then stages by training steps. */
function pipelineOrder(config: PipelineConfig): (a: Row, b: Row) => number {
  const splitRank = (s: string) => (s === config.eval.split ? 0 : 1);
  return (a, b) => splitRank(a.split) - splitRank(b.split) || (a.trainedSteps ?? -1) - (b.trainedSteps ?? -1) || a.stage.localeCompare(b.stage);
}

/** Mean and sample standard deviation (n − 1) of every metric per (stage, split), over the seeds' states. */
export function summarizeSeeds(states: readonly PipelineState[], config: PipelineConfig): PipelineSummary {
  const groups = new Map<string, EvalResult[]>();
  for (const state of states)
    for (const r of state.results) {
      const key = `${r.stage}\u0000${r.split}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
  const rows: SummaryRow[] = [];
  for (const results of groups.values()) {
    const first = results[0]!;
    const mean: Record<string, number> = {};
    const std: Record<string, number> = {};
    for (const metric of REPORT_METRICS) {
      const values = results.map((r) => r.metrics[metric]).filter((v): v is number => v !== undefined);
      if (values.length === 0) continue;
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      mean[metric] = m;
      std[metric] = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1)) : 0;
    }
    rows.push({ stage: first.stage, split: first.split, trainedSteps: first.trainedSteps, seeds: results.length, queries: first.queries, mean, std });
  }
  rows.sort(pipelineOrder(config));
  return { seeds: states.map((s) => s.seed), rows };
}

/** Dev metric against training steps, one series per metric, and each baseline as a flat line across the same steps. */
export function stagePlots(summary: PipelineSummary, config: PipelineConfig): string {
  const dev = summary.rows.filter((r) => r.split === config.eval.split);
  const trained = dev.filter((r) => r.trainedSteps !== null);
  const baselines = dev.filter((r) => r.trainedSteps === null);
  const steps = trained.map((r) => r.trainedSteps!);
  return REPORT_METRICS.slice(0, 3)
    .map((metric) => {
      const series: Series[] = [{ name: `trained (${metric})`, points: trained.map((r) => [r.trainedSteps!, r.mean[metric]!]) }];
      for (const b of baselines)
        if (steps.length > 0) series.push({ name: b.stage, points: [Math.min(...steps), Math.max(...steps)].map((x) => [x, b.mean[metric]!]) });
      return linePlot({ title: `${metric} on ${config.eval.split} (whole corpus) after each stage`, xLabel: 'training steps', yLabel: metric, series });
    })
    .join('\n');
}

function table(summary: PipelineSummary): string {
  const head = ['stage', 'split', 'steps', 'queries', ...REPORT_METRICS].map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const cell = (r: SummaryRow, m: string) =>
    r.mean[m] === undefined
      ? '<td>-</td>'
      : // Baselines do not depend on the seed: no spread to show.
        `<td>${r.mean[m]!.toFixed(4)}${r.seeds > 1 && r.trainedSteps !== null ? ` ± ${r.std[m]!.toFixed(4)}` : ''}</td>`;
  const rows = summary.rows
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.stage)}</td><td>${escapeHtml(r.split)}</td><td>${r.trainedSteps ?? '-'}</td><td>${r.queries}</td>${REPORT_METRICS.map((m) => cell(r, m)).join('')}</tr>`,
    )
    .join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function page(title: string, summary: PipelineSummary, config: PipelineConfig, extra: string): string {
  return reportPage(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="note">Seeds: ${summary.seeds.join(', ')}. Every figure is a mean over the judged queries of the split, searched through scatter-gather over the whole corpus${summary.seeds.length > 1 ? '; ± is the sample standard deviation over seeds' : ''}.</p>
${extra}
${table(summary)}
<div class="plots">${stagePlots(summary, config)}</div>`,
  );
}

/** report.json + report.html of one seed's run, in its folder. */
export function writePipelineReport(dir: string, state: PipelineState, config: PipelineConfig): { json: string; html: string } {
  const summary = summarizeSeeds([state], config);
  const best = state.best
    ? `<p>Best checkpoint by ${escapeHtml(state.best.metric)} on ${escapeHtml(config.eval.split)}: ${escapeHtml(state.best.stage)} (${state.best.value.toFixed(4)}), <code>${escapeHtml(state.best.checkpoint)}</code>.</p>`
    : '';
  return writeReportFiles(
    dir,
    { seed: state.seed, best: state.best, results: [...state.results].sort(pipelineOrder(config)), summary },
    page(`Three-stage training pipeline, seed ${state.seed}`, summary, config, best),
  );
}

/** summary.json + summary.html over several seeds' runs, in the pipeline's out folder. */
export function writeSeedSummary(
  dir: string,
  states: readonly PipelineState[],
  config: PipelineConfig,
): { json: string; html: string; summary: PipelineSummary } {
  const summary = summarizeSeeds(states, config);
  return { ...writeReportFiles(dir, summary, page(`Three-stage training pipeline over ${states.length} seeds`, summary, config, ''), 'summary'), summary };
}
