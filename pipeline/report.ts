import { REPORT_METRICS } from '../eval/index.js';
import { escapeHtml, renderPipelinePage, writeReportFiles } from '../report/index.js';
import type { PipelineConfig } from './config.js';
import { HYBRID_STAGE } from './plan.js';
import type { EvalResult, PipelineState } from './state.js';

/*
 * What a pipeline run reports: per seed, report.json (the state's results)
 * and report.html (a table, and each dev metric against training steps with
 * the baselines as flat lines); over seeds, summary.json and summary.html
 * with mean ± sample standard deviation per row.
 */

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

/** Pipeline order: the dev split before the test split; baselines, then stages by training steps, then the fused row. */
function pipelineOrder(config: PipelineConfig): (a: Row, b: Row) => number {
  const splitRank = (s: string) => (s === config.eval.split ? 0 : 1);
  const fusedLast = (stage: string) => (stage === HYBRID_STAGE ? 1 : 0);
  return (a, b) =>
    splitRank(a.split) - splitRank(b.split) ||
    fusedLast(a.stage) - fusedLast(b.stage) ||
    (a.trainedSteps ?? -1) - (b.trainedSteps ?? -1) ||
    a.stage.localeCompare(b.stage);
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

/** report.json + report.html of one seed's run, in its folder. */
export function writePipelineReport(dir: string, state: PipelineState, config: PipelineConfig): { json: string; html: string } {
  const summary = summarizeSeeds([state], config);
  const best = state.best
    ? `<p>Best checkpoint by ${escapeHtml(state.best.metric)} on ${escapeHtml(config.eval.split)}: ${escapeHtml(state.best.stage)} (${state.best.value.toFixed(4)}), <code>${escapeHtml(state.best.checkpoint)}</code>.</p>`
    : '';
  return writeReportFiles(
    dir,
    { seed: state.seed, best: state.best, results: [...state.results].sort(pipelineOrder(config)), summary },
    renderPipelinePage(`Three-stage training pipeline, seed ${state.seed}`, summary, config.eval.split, best),
  );
}

/** summary.json + summary.html over several seeds' runs, in the pipeline's out folder. */
export function writeSeedSummary(
  dir: string,
  states: readonly PipelineState[],
  config: PipelineConfig,
): { json: string; html: string; summary: PipelineSummary } {
  const summary = summarizeSeeds(states, config);
  return {
    ...writeReportFiles(
      dir,
      summary,
      renderPipelinePage(`Three-stage training pipeline over ${states.length} seeds`, summary, config.eval.split, ''),
      'summary',
    ),
    summary,
  };
}
