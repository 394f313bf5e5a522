import type { GridReport, GridRow, MeanStd } from '../experiment/index.js';
import { reportPage } from './page.js';
import { escapeHtml, linePlot } from './svg-plot.js';

/*
 * An experiment grid's page: the rows (mean ± sample std over seeds) with
 * the baselines, the plots report.json holds, and the sweep and long-tail
 * tables.
 */

/** A row's name in a plot's legend: its axis labels (less the plotted one), and its row name where a grid has several. */
export const seriesName = (row: GridRow, except: string | null, rowLabels = true) =>
  [
    ...Object.entries(row.labels)
      .filter(([k]) => k !== except)
      .map(([k, v]) => `${k}=${v}`),
    ...(rowLabels ? [row.row] : []),
  ].join(' · ') || row.row;

const pm = (x: MeanStd | undefined, digits = 4) =>
  !x || x.n === 0 || !Number.isFinite(x.mean) ? '–' : `${x.mean.toFixed(digits)}${x.n > 1 ? ` ± ${x.std.toFixed(digits)}` : ''}`;

export function renderGridHtml(report: GridReport): string {
  const nameOf = (row: GridRow, except: string | null) => seriesName(row, except, new Set(report.rows.map((r) => r.row)).size > 1);
  const axisHeads = report.axes.map((a) => `<th>${escapeHtml(a.name)}</th>`).join('');
  const baselineRows = report.baselines
    .map(
      (b) =>
        `<tr><td colspan="${report.axes.length + 1}">${escapeHtml(b.name)}</td><td>–</td><td>${pm(b.dev['Recall@10'])}</td><td>${pm(b.dev['MRR@10'])}</td><td>${pm(b.dev['nDCG@10'])}</td><td>${pm(b.test['Recall@10'])}</td><td colspan="6"></td></tr>`,
    )
    .join('\n');
  const rows = report.rows
    .map(
      (r) =>
        `<tr>${report.axes.map((a) => `<td>${escapeHtml(r.labels[a.name] ?? '')}</td>`).join('')}<td>${escapeHtml(r.row)}</td><td>${r.seeds.length}</td><td>${pm(r.dev['Recall@10'])}</td><td>${pm(r.dev['MRR@10'])}</td><td>${pm(r.dev['nDCG@10'])}</td><td>${pm(r.test['Recall@10'])}</td><td>${r.hnsw ? pm(r.hnsw.ndisPerQuery, 0) : '–'}</td><td>${r.geometry ? pm(r.geometry.positiveCosine, 3) : '–'}</td><td>${r.geometry ? pm(r.geometry.alignment, 3) : '–'}</td><td>${r.geometry ? pm(r.geometry.uniformity, 3) : '–'}</td><td>${r.geometry ? pm(r.geometry.crossTowerGap, 3) : '–'}</td></tr>`,
    )
    .join('\n');
  const sweepTables = report.rows
    .filter((r) => r.sweeps.some((s) => s.param === 'nprobe'))
    .map((r) => {
      const sweeps = r.sweeps.filter((s) => s.param === 'nprobe');
      const values = [...new Set(sweeps.flatMap((s) => s.points.map((p) => p.value)))].sort((a, b) => a - b);
      const head = sweeps.map((s) => `<th>${escapeHtml(s.index)}${s.dualView ? ' (CI)' : ''} R@10</th><th>dist/q</th>`).join('');
      const body = values
        .map(
          (v) =>
            `<tr><td>${v}</td>${sweeps
              .map((s) => {
                const p = s.points.find((x) => x.value === v);
                return `<td>${pm(p?.recall)}</td><td>${pm(p?.ndisPerQuery, 0)}</td>`;
              })
              .join('')}</tr>`,
        )
        .join('');
      return `<h3>${escapeHtml(nameOf(r, null))}</h3><table><tr><th>nprobe</th>${head}</tr>${body}</table>`;
    })
    .join('\n');
  const tailTables = report.rows
    .filter((r) => r.longTail)
    .map((r) => {
      const indexes = Object.keys(r.longTail![0]!.recallAt10);
      return `<h3>${escapeHtml(nameOf(r, null))}</h3><table><tr><th>sense-tag count</th><th>queries</th>${indexes.map((i) => `<th>${escapeHtml(i)} R@10</th>`).join('')}</tr>${r
        .longTail!.map((b) => `<tr><td>${escapeHtml(b.bucket)}</td><td>${b.queries}</td>${indexes.map((i) => `<td>${pm(b.recallAt10[i])}</td>`).join('')}</tr>`)
        .join('')}</table>`;
    })
    .join('\n');
  const target = report.rows.find((r) => r.hnsw)?.hnsw?.target;
  return reportPage(
    report.title,
    `<h1>${escapeHtml(report.title)}</h1>
<p class="note">${escapeHtml(report.description)}</p>
${report.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('\n')}
<p class="note">Seeds ${report.seeds.join(', ')}; every figure is the mean ± sample standard deviation over the seeds counted in its row, measured through scatter-gather over the whole corpus (trec_eval means over the evaluated queries).${target ? ` HNSW distances are read where the efSearch sweep reaches ${target} overlap with the same model's Flat top 10.` : ''} ${escapeHtml(report.createdAt)}.</p>
<table><tr>${axisHeads}<th>row</th><th>seeds</th><th>dev Recall@10</th><th>dev MRR@10</th><th>dev nDCG@10</th><th>test Recall@10</th><th>HNSW dist/q at equal overlap</th><th>positive cos</th><th>alignment</th><th>uniformity</th><th>cross-tower gap</th></tr>
${baselineRows}
${rows}
</table>
<div class="plots">${report.plots.map((p) => linePlot(p)).join('\n')}</div>
${sweepTables ? `<h2>nprobe sweeps</h2>${sweepTables}` : ''}
${tailTables ? `<h2>Long tail: queries by their synset's sense-tag count (WordNet index.sense)</h2><p class="note">Indexes at their serving settings. 0 = senses never tagged in SemCor and the other tagged corpora.</p>${tailTables}` : ''}
`,
  );
}

/** Writes report.json and report.html into `dir` (temp names, then renamed). */
