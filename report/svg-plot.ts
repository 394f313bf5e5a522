/*
 * Line plots as inline SVG (no external assets), so a report is one
 * self-contained HTML file that renders anywhere, offline. The plot area
 * carries its data ranges, and PLOT_READBACK_SCRIPT reads every rendered
 * point back into data coordinates from the browser's layout, so a
 * headless-browser test can compare what was drawn with report.json.
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  /** Points without the line through them (a scatter). */
  markersOnly?: boolean;
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function ticks(min: number, max: number, count: number): number[] {
  if (max <= min) return [min];
  const step = (max - min) / count;
  return Array.from({ length: count + 1 }, (_, i) => min + i * step);
}

/** A tick label with enough decimals to tell ticks `step` apart (at least the old 0 / 2). */
const label = (v: number, step = 0) => {
  if (Math.abs(v) >= 1000) return v.toExponential(1);
  const needed = step > 0 ? Math.max(0, Math.ceil(-Math.log10(step))) : 0;
  return v.toFixed(Math.min(6, Math.max(needed, Math.abs(v) >= 10 ? 0 : 2)));
};

export function linePlot(options: PlotOptions): string {
  // The legend's column grows with its longest name (about 6.5 px a character at 11 px); the plot area keeps its size.
  const legend = Math.max(150, Math.ceil(6.5 * Math.max(0, ...options.series.map((s) => s.name.length)) + 36));
  const height = Math.max(options.height ?? 340, 36 + 18 * options.series.length + 52);
  const width = (options.width ?? 560) + legend - 150;
  const margin = { left: 64, right: legend, top: 36, bottom: 52 };
  const all = options.series.flatMap((s) => s.points);
  if (all.length === 0) return `<figure class="plot empty"><figcaption>${escapeHtml(options.title)}: no data</figcaption></figure>`;
  const fx = options.logX ? (x: number) => Math.log2(Math.max(x, 1e-9)) : (x: number) => x;
  const xs = all.map(([x]) => fx(x));
  const ys = all.map(([, y]) => y);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - 0.05, y1 + 0.05];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  // Points off the frame's edge (a log axis keeps its first and last tick on the frame).
  if (!options.logX) {
    const xPad = (x1 - x0) * 0.05;
    [x0, x1] = [x0 - xPad, x1 + xPad];
  }
  const px = (x: number) => margin.left + ((fx(x) - x0) / (x1 - x0)) * (width - margin.left - margin.right);
  const py = (y: number) => height - margin.bottom - ((y - y0) / (y1 - y0)) * (height - margin.top - margin.bottom);
  const parts: string[] = [];
  parts.push(
    `<rect class="plot-area" data-x0="${x0}" data-x1="${x1}" data-y0="${y0}" data-y1="${y1}" data-log-x="${options.logX ? 1 : 0}" x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${height - margin.top - margin.bottom}" fill="#fafafa" stroke="#ccc"/>`,
  );
  for (const t of ticks(y0, y1, 5))
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/><text x="${margin.left - 6}" y="${py(t) + 4}" text-anchor="end" font-size="11">${label(t, (y1 - y0) / 5)}</text>`,
    );
  const xTicks = options.logX ? [...new Set(all.map(([x]) => x))].sort((a, b) => a - b) : ticks(x0, x1, 5);
  const xStep = options.logX ? 0 : (x1 - x0) / 5;
  for (const t of xTicks) parts.push(`<text x="${px(t)}" y="${height - margin.bottom + 16}" text-anchor="middle" font-size="11">${label(t, xStep)}</text>`);
  options.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = [...s.points].sort((a, b) => a[0] - b[0]);
    if (points.length > 1 && !options.markersOnly)
      parts.push(
        `<polyline class="series" fill="none" stroke="${colour}" stroke-width="2" points="${points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [x, y] of points)
      parts.push(
        `<circle class="point" data-series="${escapeHtml(s.name)}" cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${colour}"><title>${escapeHtml(s.name)}: ${label(x)}, ${y.toFixed(4)}</title></circle>`,
      );
    parts.push(
      `<rect x="${width - margin.right + 12}" y="${margin.top + i * 18}" width="10" height="10" fill="${colour}"/><text x="${width - margin.right + 28}" y="${margin.top + i * 18 + 9}" font-size="11">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push(
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 12}" text-anchor="middle" font-size="12">${escapeHtml(options.xLabel)}${options.logX ? ' (log scale)' : ''}</text>`,
  );
  parts.push(
    `<text transform="translate(16 ${(margin.top + height - margin.bottom) / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(options.yLabel)}</text>`,
  );
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeHtml(options.title)}</text>`);
  return `<figure class="plot"><svg class="plot-svg" data-title="${escapeHtml(options.title)}" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(options.title)}">${parts.join('')}</svg></figure>`;
}

/**
 * Inline script for a page of plots: sets <body data-plots> to the number of
 * plots drawn with points, and <body data-plotted> to every point as the
 * browser laid it out, inverted to data coordinates: [{plot, series, x, y}].
 */
export const PLOT_READBACK_SCRIPT = `<script>(function () {
  var svgs = Array.from(document.querySelectorAll('svg.plot-svg'));
  var plotted = [];
  svgs.forEach(function (svg) {
    var area = svg.querySelector('rect.plot-area');
    var box = area.getBoundingClientRect();
    var d = area.dataset;
    Array.from(svg.querySelectorAll('circle.point')).forEach(function (c) {
      var r = c.getBoundingClientRect();
      var fx = Number(d.x0) + ((r.left + r.width / 2 - box.left) / box.width) * (Number(d.x1) - Number(d.x0));
      var y = Number(d.y0) + ((box.bottom - (r.top + r.height / 2)) / box.height) * (Number(d.y1) - Number(d.y0));
      plotted.push({ plot: svg.dataset.title, series: c.dataset.series, x: d.logX === '1' ? Math.pow(2, fx) : fx, y: y });
    });
  });
  document.body.dataset.plots = String(svgs.filter(function (s) { return s.getBBox().width > 0 && s.querySelectorAll('circle.point').length > 0; }).length);
  document.body.dataset.plotted = JSON.stringify(plotted);
})();</script>`;
