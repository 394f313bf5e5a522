import type { HybridReport, IndexReport } from '../eval/index.js';
import { escapeHtml, linePlot } from './svg-plot.js';
import { reportPage } from './page.js';
import { writeReportFiles } from './report-files.js';

/*
 * `sci eval` output: report.json (everything measured) and report.html (a
 * self-contained page: the summary table and three plots — Recall@10 vs
 * nprobe, Recall@10 vs efSearch, latency vs Recall@10). The page's one
 * inline script reads the drawn points back (svg-plot.ts) for the
 * headless-Chromium tests. Every mean is printed with the number of queries
 * it is over.
 */

export interface EvalReport {
  createdAt: string;
  indexSet: string;
  queries: { source: string; count: number; split: string | null };
  k: number;
  shards: number;
  environment: Record<string, string | number>;
  indexes: IndexReport[];
  /** A dense index and BM25 fused by reciprocal rank (`sci eval --hybrid`); null when not asked for. */
  hybrid?: HybridReport | null;
}

const f = (x: number | undefined | null, digits = 4) => (x === undefined || x === null || Number.isNaN(x) ? '–' : x.toFixed(digits));

export function renderReportHtml(report: EvalReport): string {
  const rows = report.indexes
    .map(
      (r) =>
        `<tr><td>${escapeHtml(r.index)}</td><td><code>${escapeHtml(r.factory)}</code>${r.dualView ? ' dual-view' : ''}${r.servingNprobe ? ` (nprobe ${r.servingNprobe})` : ''}</td><td>${r.metrics.queries ?? '–'}</td><td>${f(r.metrics['Recall@10'])}</td><td>${f(r.metrics['Success@10'])}</td><td>${f(r.metrics[`Recall@${Math.min(100, report.k)}`])}</td><td>${f(r.metrics['MRR@10'])}</td><td>${f(r.metrics['nDCG@10'])}</td><td>${f(r.latency.p50Ms, 2)}</td><td>${f(r.latency.p95Ms, 2)}</td><td>${f(r.latency.p99Ms, 2)}</td><td>${f(r.latency.qps, 0)}</td><td>${f(r.batchedQps, 0)}</td><td>${f(r.perQuery.ndis, 0)}</td><td>${r.build ? f(r.build.wallSeconds, 2) : '–'}</td><td>${r.build ? (r.build.bytes / 2 ** 20).toFixed(1) : '–'}</td><td>${r.partialAnswers}</td></tr>`,
    )
    .join('\n');
  const h = report.hybrid;
  const hybridRow = h
    ? `\n<tr class="hybrid"><td>${h.name}</td><td>RRF(${escapeHtml(h.dense)}, ${escapeHtml(h.lexical)}), c = ${h.c}</td><td>${h.metrics.queries ?? '–'}</td><td>${f(h.metrics['Recall@10'])}</td><td>${f(h.metrics['Success@10'])}</td><td>${f(h.metrics[`Recall@${Math.min(100, report.k)}`])}</td><td>${f(h.metrics['MRR@10'])}</td><td>${f(h.metrics['nDCG@10'])}</td><td colspan="9">the two rows' rankings fused, as <code>sci search --hybrid</code> fuses them: latency and work are theirs together</td></tr>`
    : '';
  const sweepSeries = (param: 'nprobe' | 'efSearch') =>
    report.indexes
      .filter((r) => r.sweep.some((p) => p.param === param))
      .map((r) => ({ name: r.index, points: r.sweep.map((p) => [p.value, p['Recall@10']] as [number, number]) }));
  const annSeries = (param: 'nprobe' | 'efSearch') =>
    report.indexes
      .filter((r) => r.sweep.some((p) => p.param === param && p['annRecall@10'] !== null))
      .map((r) => ({ name: `${r.index} vs Flat`, points: r.sweep.map((p) => [p.value, p['annRecall@10'] ?? 0] as [number, number]) }));
  const latencyRecall = report.indexes.map((r) => ({
    name: r.index,
    points:
      r.sweep.length > 0
        ? r.sweep.map((p) => [p['Recall@10'], p.p50Ms] as [number, number])
        : [[r.metrics['Recall@10'] ?? 0, r.latency.p50Ms] as [number, number]],
  }));
  const plots = [
    linePlot({
      title: 'Recall@10 vs nprobe (IVF)',
      xLabel: 'nprobe',
      yLabel: 'Recall@10 (overlap with Flat)',
      series: [...sweepSeries('nprobe'), ...annSeries('nprobe')],
      logX: true,
    }),
    linePlot({
      title: 'Recall@10 vs efSearch (HNSW)',
      xLabel: 'efSearch',
      yLabel: 'Recall@10 (overlap with Flat)',
      series: [...sweepSeries('efSearch'), ...annSeries('efSearch')],
      logX: true,
    }),
    linePlot({ title: 'Latency vs Recall@10', xLabel: 'Recall@10', yLabel: 'p50 latency per query (ms)', series: latencyRecall }),
  ];
  const sweeps = report.indexes
    .filter((r) => r.sweep.length > 0)
    .map(
      (r) =>
        `<h3>${escapeHtml(r.index)} <code>${escapeHtml(r.factory)}</code></h3><table><tr><th>${r.sweep[0]!.param}</th><th>queries</th><th>Recall@10</th><th>Success@10</th><th>overlap with Flat top 10</th><th>distances / query</th><th>p50 ms</th></tr>${r.sweep.map((p) => `<tr><td>${p.value}</td><td>${p.queries}</td><td>${f(p['Recall@10'])}</td><td>${f(p['Success@10'])}</td><td>${f(p['annRecall@10'])}</td><td>${f(p.ndisPerQuery, 0)}</td><td>${f(p.p50Ms, 2)}</td></tr>`).join('')}</table>`,
    )
    .join('\n');
  const consistent = consistentIndexingSection(report.indexes);
  const env = Object.entries(report.environment)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return reportPage(
    `sci-cluster evaluation — ${report.indexSet}`,
    `<h1>sci-cluster evaluation</h1>
<p class="note">Index set <code>${escapeHtml(report.indexSet)}</code>, ${report.shards} shards, searched through scatter-gather. ${report.queries.count} queries from <code>${escapeHtml(report.queries.source)}</code>${report.queries.split ? ` (split ${escapeHtml(report.queries.split)})` : ''}, top ${report.k}. ${escapeHtml(report.createdAt)}.</p>
<p class="note">Every mean is over the queries counted beside it: those in the run with at least one relevant judgment (trec_eval's default); sweeps use the first queries of the sample only. Recall@k is the fraction of a query's relevant passages found in the top k; Success@k is 1 when any relevant passage is in the top k (DPR's "top-k accuracy"). Latency: one query per request, one client, sequential. Batched QPS: requests of many queries, their vectors encoded beforehand. Distances: Faiss distance computations per query, summed over shards. Build: slowest shard (wall time with one worker per shard); size: index files over all shards.</p>
<table><tr><th>index</th><th>factory</th><th>queries</th><th>Recall@10</th><th>Success@10</th><th>Recall@${Math.min(100, report.k)}</th><th>MRR@10</th><th>nDCG@10</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>QPS (1 client)</th><th>QPS (batched)</th><th>distances / query</th><th>build s</th><th>MiB</th><th>partial answers</th></tr>
${rows}${hybridRow}
</table>
<div class="plots">${plots.join('\n')}</div>
${consistent}
<h2>Sweeps</h2>
${sweeps || '<p>No HNSW or IVF index in this set.</p>'}
<h2>Environment</h2><table>${env}</table>`,
  );
}

/**
 * SCI's claim, side by side: each dual-view (CI) index against the item-view
 * IVF with the same factory, nprobe by nprobe, on the same sweep queries.
 */
function consistentIndexingSection(indexes: readonly IndexReport[]): string {
  const pairs = indexes
    .filter((r) => r.dualView)
    .map((ci) => ({ ci, ivf: indexes.find((r) => !r.dualView && r.factory === ci.factory) }))
    .filter((p): p is { ci: IndexReport; ivf: IndexReport } => p.ivf !== undefined);
  if (pairs.length === 0) return '';
  const tables = pairs.map(({ ci, ivf }) => {
    const rows = ci.sweep
      .map((c) => {
        const i = ivf.sweep.find((p) => p.value === c.value);
        const delta = i ? c['Recall@10'] - i['Recall@10'] : null;
        return `<tr><td>${c.value}</td><td>${f(i?.['Recall@10'])}</td><td>${f(c['Recall@10'])}</td><td>${delta === null ? '–' : `${delta >= 0 ? '+' : ''}${delta.toFixed(4)}`}</td><td>${f(i?.['annRecall@10'])}</td><td>${f(c['annRecall@10'])}</td><td>${f(i?.ndisPerQuery, 0)}</td><td>${f(c.ndisPerQuery, 0)}</td></tr>`;
      })
      .join('');
    return `<h3><code>${escapeHtml(ci.factory)}</code>: ${escapeHtml(ivf.index)} (item view) vs ${escapeHtml(ci.index)} (dual view)</h3><table><tr><th>nprobe</th><th>Recall@10 item view</th><th>Recall@10 dual view</th><th>Δ</th><th>overlap with Flat, item view</th><th>overlap with Flat, dual view</th><th>distances / query, item view</th><th>distances / query, dual view</th></tr>${rows}</table>`;
  });
  return `<h2>Consistent indexing (SCI CI) against the item-view IVF</h2><p class="note">Dual view: k-means and list assignment on the passages' query-tower embeddings f_q(I), stored vectors or residual PQ codes from the item tower f_i(I); queries probe by f_q(Q) as usual. Same nlist, same k-means (spherical for inner product, as faiss's IVF trains), same queries.</p>${tables.join('\n')}`;
}

/** Writes report.json and report.html into `dir` (temp names, then renamed). */
export function writeEvalReport(dir: string, report: EvalReport): { json: string; html: string } {
  return writeReportFiles(dir, report, renderReportHtml(report));
}
