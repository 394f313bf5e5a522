import assert from 'node:assert/strict';

/** A point as the browser drew it, read back into data coordinates (report/svg-plot.ts PLOT_READBACK_SCRIPT). */
export interface PlottedPoint {
  plot: string;
  series: string;
  x: number;
  y: number;
}

const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The points of a page's plots, from Chromium's DOM after the readback script ran. */
export function plottedPoints(dom: string): PlottedPoint[] {
  const match = /<body[^>]*\sdata-plotted="([^"]*)"/.exec(dom);
  assert.ok(match, 'the page recorded its plotted points');
  return JSON.parse(unescape(match[1]!)) as PlottedPoint[];
}

/**
 * Every expected point is drawn, once, where it belongs: within 1% of the
 * plot's data range (about 3 pixels) on each axis, in log2 space for log axes.
 */
export function assertPlotted(plotted: readonly PlottedPoint[], expected: readonly PlottedPoint[], logX: ReadonlySet<string>): void {
  const plots = new Set(expected.map((p) => p.plot));
  for (const plot of plots) {
    const want = expected.filter((p) => p.plot === plot);
    const got = plotted.filter((p) => p.plot === plot);
    assert.equal(got.length, want.length, `${plot}: ${got.length} points drawn, ${want.length} in the report`);
    const fx = (x: number) => (logX.has(plot) ? Math.log2(x) : x);
    const span = (values: number[]) => Math.max(...values) - Math.min(...values) || 0.1;
    const xTol = 0.01 * span(want.map((p) => fx(p.x))) + 1e-9;
    const yTol = 0.01 * span(want.map((p) => p.y)) * 1.1 + 1e-9;
    const unused = [...got];
    for (const p of want) {
      const at = unused.findIndex((q) => q.series === p.series && Math.abs(fx(q.x) - fx(p.x)) <= xTol && Math.abs(q.y - p.y) <= yTol);
      assert.ok(
        at >= 0,
        `${plot}: ${p.series} (${p.x}, ${p.y}) is not drawn; nearest: ${JSON.stringify(got.filter((q) => q.series === p.series).slice(0, 8))}`,
      );
      unused.splice(at, 1);
    }
  }
}

interface ReportJson {
  indexes: Array<{
    index: string;
    metrics: Record<string, number>;
    latency: { p50Ms: number };
    sweep: Array<{ param: string; value: number; 'Recall@10': number; 'annRecall@10': number | null; p50Ms: number }>;
  }>;
}

/** What `sci eval`'s report.html must draw, read straight from its report.json (titles as the page shows them). */
export function evalReportPoints(report: ReportJson): { points: PlottedPoint[]; logX: Set<string> } {
  const points: PlottedPoint[] = [];
  const titles = { nprobe: 'Recall@10 vs nprobe (IVF)', efSearch: 'Recall@10 vs efSearch (HNSW)' } as const;
  for (const r of report.indexes) {
    for (const p of r.sweep) {
      const plot = titles[p.param as keyof typeof titles];
      points.push({ plot, series: r.index, x: p.value, y: p['Recall@10'] });
      if (p['annRecall@10'] !== null) points.push({ plot, series: `${r.index} vs Flat`, x: p.value, y: p['annRecall@10'] });
      points.push({ plot: 'Latency vs Recall@10', series: r.index, x: p['Recall@10'], y: p.p50Ms });
    }
    if (r.sweep.length === 0) points.push({ plot: 'Latency vs Recall@10', series: r.index, x: r.metrics['Recall@10']!, y: r.latency.p50Ms });
  }
  return { points, logX: new Set(Object.values(titles)) };
}
