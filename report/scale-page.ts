import type { ScaleReport } from '../scale/index.js';
import { reportPage } from './page.js';
import { escapeHtml, linePlot } from './svg-plot.js';

/*
 * The scale harness's page (report.html) and the README's tables
 * (renderScaleMarkdown), both from report.json alone: a test regenerates
 * the committed ones and compares.
 */

const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(0)}%`;

export function renderScaleReportHtml(report: ScaleReport): string {
  const cellRows = report.cells
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.index)}</td><td>${c.shards}</td><td>${c.replicas}${c.hedged ? ' (hedged)' : ''}</td><td>${c.clients}</td><td>${c.requests}</td><td>${f(c.qps, 0)}</td><td>${f(c.p50Ms)}</td><td>${f(c.p95Ms)}</td><td>${f(c.p99Ms)}</td><td>${f(c.split.workMs)}</td><td>${f(c.split.queueingMs)}</td><td>${f(c.split.networkMs)}</td><td>${f(c.split.mergeMs)}</td><td>${f(c.split.routerMs)}</td><td>${f(c.overheadP50Ms)}</td><td>${f(c.shardP50Ms)} / ${f(c.shardP99Ms)}</td><td>${c.partial}</td><td>${c.hedges.sent} / ${c.hedges.won}</td></tr>`,
    )
    .join('\n');
  const validationRows = report.validation
    .map(
      (v) =>
        `<tr><td>${escapeHtml(v.index)}</td><td>${v.shards}</td><td>${v.replicas}${v.hedged ? ' (hedged)' : ''}</td><td>${f(v.measured.p50Ms)}</td><td>${f(v.predicted.p50Ms)}</td><td>${pct(v.error.p50)}</td><td>${f(v.measured.p99Ms)}</td><td>${f(v.predicted.p99Ms)}</td><td>${pct(v.error.p99)}</td></tr>`,
    )
    .join('\n');
  const extrapolationRows = report.extrapolations
    .flatMap((e) =>
      e.points.map(
        (p) =>
          `<tr><td>${escapeHtml(e.index)}</td><td>${p.shards}</td><td>${f(p.plain.p50Ms)}</td><td>${f(p.plain.p99Ms)}</td><td>${f(p.hedged.p50Ms)}</td><td>${f(p.hedged.p99Ms)}</td><td>${(100 * p.hedged.hedgedShare).toFixed(1)}%</td><td>${e.from.shards} (hedge after ${f(e.hedgeDelayMs)} ms)</td></tr>`,
      ),
    )
    .join('\n');
  const setup = Object.entries(report.setup)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  return reportPage(
    'sci-cluster scale harness',
    `<h1>sci-cluster scale harness</h1>
<p class="note">Every cell: closed-loop clients sending one query per request for a fixed time on a real nats-server. A request's time is split at its slowest shard: the search itself on the server (work), its wait there for a thread plus (de)coding (queueing), the rest of the router's wait for that shard (network: NATS hops and scheduling), the merge, and the router's own time. Overhead: the request's time over the slowest shard's service time. ${escapeHtml(report.createdAt)}.</p>
<div class="plots">${report.plots.map((p) => linePlot(p)).join('\n')}</div>
<h2>Cells</h2>
<table><tr><th>index</th><th>shards</th><th>replicas</th><th>clients</th><th>requests</th><th>QPS</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>work</th><th>queueing</th><th>network</th><th>merge</th><th>router</th><th>overhead p50</th><th>per-shard p50 / p99</th><th>partial</th><th>hedges sent / won</th></tr>
${cellRows}
</table>
<h2>Tail-at-scale simulator against the measured cells (one client)</h2>
<p class="note">Each cell predicted from the per-shard answer times of the unhedged cell with the same shards, drawn independently for each shard (a hedged cell: a second draw after the hedge delay, the p95 of those times), plus the router's own time and the merge as measured.</p>
<table><tr><th>index</th><th>shards</th><th>replicas</th><th>p50 measured</th><th>p50 predicted</th><th>error</th><th>p99 measured</th><th>p99 predicted</th><th>error</th></tr>
${validationRows}
</table>
<h2>Simulated at scale</h2>
<p class="note">Shards like those of the largest measured cell, each answering independently; the merge's cost grows along the line fitted over the measured shard counts.</p>
<table><tr><th>index</th><th>shards</th><th>p50 ms</th><th>p99 ms</th><th>p50 hedged</th><th>p99 hedged</th><th>requests hedged</th><th>model from shards</th></tr>
${extrapolationRows}
</table>
<h2>Setup</h2><table>${setup}</table>
`,
  );
}

/** Writes report.json and report.html into `dir` (temp names, then renamed). */
/**
 * The README's summary of a report (markdown): each index at one client without replicas by shard count,
 * the simulator against those cells, and the simulation out to 1,024 shards. A test regenerates it from
 * the committed report.json and compares it with the README's block.
 */
export function renderScaleMarkdown(report: ScaleReport): string {
  const lines: string[] = [];
  lines.push(
    '| index | shards | QPS (1 / 16 clients) | p50 ms | p99 ms | work | queueing | network | merge + router | overhead p50 | p99 predicted | p99 hedged: measured / predicted |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const index of [...new Set(report.cells.map((c) => c.index))]) {
    for (const one of report.cells.filter((c) => c.index === index && c.clients === 1 && !c.hedged)) {
      const loaded = report.cells.find((c) => c.index === index && c.shards === one.shards && c.clients === 16 && !c.hedged);
      const predicted = report.validation.find((v) => v.index === index && v.shards === one.shards && !v.hedged);
      const hedged = report.validation.find((v) => v.index === index && v.shards === one.shards && v.hedged);
      lines.push(
        `| ${index} | ${one.shards} | ${f(one.qps, 0)} / ${loaded ? f(loaded.qps, 0) : '–'} | ${f(one.p50Ms)} | ${f(one.p99Ms)} | ${f(one.split.workMs)} | ${f(one.split.queueingMs)} | ${f(one.split.networkMs)} | ${f(one.split.mergeMs + one.split.routerMs)} | ${f(one.overheadP50Ms)} | ${predicted ? `${f(predicted.predicted.p99Ms)} (${pct(predicted.error.p99)})` : '–'} | ${hedged ? `${f(hedged.measured.p99Ms)} / ${f(hedged.predicted.p99Ms)}` : '–'} |`,
      );
    }
  }
  lines.push('');
  lines.push('| simulated | ' + report.extrapolations[0]!.points.map((p) => `${p.shards} shards`).join(' | ') + ' |');
  lines.push('| --- | ' + report.extrapolations[0]!.points.map(() => '---:').join(' | ') + ' |');
  for (const e of report.extrapolations) {
    lines.push(`| ${e.index} p50 / p99 ms | ` + e.points.map((p) => `${f(p.plain.p50Ms)} / ${f(p.plain.p99Ms)}`).join(' | ') + ' |');
    lines.push(`| ${e.index} hedged | ` + e.points.map((p) => `${f(p.hedged.p50Ms)} / ${f(p.hedged.p99Ms)}`).join(' | ') + ' |');
  }
  return lines.join('\n');
}
