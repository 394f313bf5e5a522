import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderCiTestHtml, renderCiTestMarkdown } from '../../../report/index.js';
import type { CiTestReport, VariantResult } from '../../../experiment/index.js';

/* The CI test's README block and page say what the report holds: each variant's numbers at the headline point. */

const metric = (mean: number, low: number, high: number, wins = 0, losses = 0, p = 1, seedMeans = [mean, mean, mean]) => ({
  mean,
  low,
  high,
  wins,
  losses,
  ties: 0,
  p,
  seedMeans,
});
const point = (at: number, recall: ReturnType<typeof metric>) => ({ at, recall, overlap: metric(0, 0, 0), probed: metric(0.01, 0.005, 0.015) });

function variant(name: string, recallAt8: ReturnType<typeof metric>): VariantResult {
  const grid = [point(1, metric(0, 0, 0)), point(8, recallAt8)];
  return {
    cell: `aligner=${name}`,
    labels: { aligner: name },
    seeds: [1, 2, 3],
    queries: 4743,
    deltaCos: { mean: 0.0123, std: 0.002, n: 3 },
    crossTowerGap: { mean: 0.2, std: 0.01, n: 3 },
    pairs: { ci: { atNprobe: grid, atBudget: grid }, 'ci+q': { atNprobe: grid, atBudget: grid } },
  };
}

const report: CiTestReport = {
  title: 'SCI grid',
  split: 'dev',
  nlist: 1024,
  k: 10,
  corpus: 117_791,
  nprobes: [1, 8],
  budgetLists: [1, 8],
  budgets: [115, 920],
  methods: { item: 'item view', ci: 'CI', 'ci+q': 'CI + queries' },
  headline: { grid: 'nprobe', at: 8 },
  checkpoints: [],
  variants: [
    variant('off', metric(0.0042, 0.001, 0.0071, 120, 80, 0.0054, [0.003, 0.004, 0.0056])),
    variant('C', metric(-0.002, -0.004, 0.0005, 70, 90, 0.13)),
    // An interval above zero, but one seed below: no verdict.
    variant('A', metric(0.003, 0.001, 0.005, 100, 80, 0.15, [0.006, 0.004, -0.001])),
  ],
  correlations: [{ pair: 'ci', grid: 'nprobe', at: 8, n: 12, pearson: 0.61, spearman: 0.55 }],
  missing: [],
  skippedQueries: 0,
  createdAt: '2026-12-05T00:00:00Z',
};

test('the README block: a row per variant with the headline point, the correlation and a verdict by interval', () => {
  const markdown = renderCiTestMarkdown(report);
  const rows = markdown.split('\n');
  assert.match(rows[0]!, /Recall@10, CI − IVF \(nprobe 8\).*\(920 items scanned\)/);
  assert.equal(
    rows[2],
    '| off | 1, 2, 3 | +0.012 ± 0.002 | 0.200 | +0.0100 [+0.0050, +0.0150] | +0.0042 [+0.0010, +0.0071] | +0.0030 / +0.0040 / +0.0056 | 120 / 80, 0.005 | +0.0042 [+0.0010, +0.0071] | +0.0042 [+0.0010, +0.0071] |',
  );
  assert.match(rows[3]!, /^\| C \| 1, 2, 3 \|.*\| −0\.0020 \[−0\.0040, \+0\.0005\] \| −0\.0020 \/ −0\.0020 \/ −0\.0020 \| 70 \/ 90, 0\.130 \|/);
  assert.match(markdown, /over the 12 checkpoints: Pearson r = 0\.61, Spearman ρ = 0\.55/);
  assert.match(markdown, /off: higher; C: no difference shown; A: no difference shown\./);
});

test('the page plots every variant over the sweep and names the layouts', () => {
  const html = renderCiTestHtml(report);
  assert.match(html, /<b>ci\+q<\/b> \(CI \+ queries\)/);
  for (const title of ['Recall@10: CI − IVF at equal nprobe', 'Recall@10: CI − IVF at equal items scanned', 'Recall@10: CI with training queries − IVF'])
    assert.ok(html.includes(`data-title="${title}"`), title);
  assert.equal((html.match(/class="point" data-series="off"/g) ?? []).length, 2 * 4, 'two points in each of the four sweep plots');
});
