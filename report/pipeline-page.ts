import { REPORT_METRICS } from '../eval/index.js';
import type { PipelineSummary, SummaryRow } from '../pipeline/index.js';
import { reportPage } from './page.js';
import { escapeHtml, linePlot, type Series } from './svg-plot.js';

/*
 * The pipeline's pages: per seed and over seeds, a table of every stage's
 * metrics (mean ± sample std over seeds), and each dev metric against
 * training steps with the baselines as flat lines.
 */

/** Dev metric against training steps, one series per metric, and each baseline as a flat line across the same steps. */
function stagePlots(summary: PipelineSummary, split: string): string {
  const dev = summary.rows.filter((r) => r.split === split);
  // The fused row ('hybrid', the final stage with BM25) is drawn as a flat line, like the baselines: it is not another checkpoint.
  const isFused = (r: SummaryRow) => r.stage === 'hybrid';
  const trained = dev.filter((r) => r.trainedSteps !== null && !isFused(r));
  const baselines = dev.filter((r) => r.trainedSteps === null || isFused(r));
  const steps = trained.map((r) => r.trainedSteps!);
  return REPORT_METRICS.slice(0, 3)
    .map((metric) => {
      const series: Series[] = [{ name: `trained (${metric})`, points: trained.map((r) => [r.trainedSteps!, r.mean[metric]!]) }];
      for (const b of baselines)
        if (steps.length > 0) series.push({ name: b.stage, points: [Math.min(...steps), Math.max(...steps)].map((x) => [x, b.mean[metric]!]) });
      return linePlot({ title: `${metric} on ${split} (whole corpus) after each stage`, xLabel: 'training steps', yLabel: metric, series });
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

/** A pipeline run's page (one seed's, or the summary over seeds): the table, then each dev metric against training steps. */
export function renderPipelinePage(title: string, summary: PipelineSummary, split: string, extra: string): string {
  return reportPage(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p class="note">Seeds: ${summary.seeds.join(', ')}. Every figure is a mean over the judged queries of the split, searched through scatter-gather over the whole corpus${summary.seeds.length > 1 ? '; ± is the sample standard deviation over seeds' : ''}.</p>
${extra}
${table(summary)}
<div class="plots">${stagePlots(summary, split)}</div>`,
  );
}
