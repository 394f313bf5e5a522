import { CI_METHODS, type BootstrapMetric, type CiMethod, type CiTestReport, type VariantResult } from '../experiment/index.js';
import { reportPage } from './page.js';
import { escapeHtml, linePlot, type Series } from './svg-plot.js';

/*
 * The CI test's page and README block (experiment/ci-test.ts): per aligner
 * variant, Δcos and the paired differences CI − IVF (and CI with training
 * queries − IVF) with their bootstrap intervals and sign tests, at the
 * headline nprobe and at equal items scanned; the correlation of the gain
 * with Δcos across checkpoints; plots of the differences over the sweep.
 */

const signed = (x: number, digits = 4) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
const interval = (m: { mean: number; low: number; high: number }) => `${signed(m.mean)} [${signed(m.low)}, ${signed(m.high)}]`;
const pValue = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));
const variantName = (v: VariantResult) => Object.values(v.labels).join(' · ') || v.cell;

const perSeed = (m: BootstrapMetric) => m.seedMeans.map((x) => signed(x)).join(' / ');

/**
 * Where a variant's difference lies against zero: its interval over queries must exclude zero and
 * every seed's mean lie on the same side (the interval alone does not see how much the training seed
 * moves the difference).
 */
function verdict(m: BootstrapMetric): 'higher' | 'lower' | 'no difference shown' {
  if (m.low > 0 && m.seedMeans.every((x) => x > 0)) return 'higher';
  if (m.high < 0 && m.seedMeans.every((x) => x < 0)) return 'lower';
  return 'no difference shown';
}

/** Mean items scanned by each layout at the headline equal-work point, over the checkpoints. */
function scannedAtBudget(report: CiTestReport, i: number): string {
  if (report.checkpoints.length === 0) return '';
  const mean = (method: CiMethod) => report.checkpoints.reduce((sum, c) => sum + c.methods[method].atBudget[i]!.scanned, 0) / report.checkpoints.length;
  return CI_METHODS.map((m) => `${m} ${Math.round(mean(m)).toLocaleString('en-US')}`).join(', ');
}

function headlineIndex(report: CiTestReport): number {
  return Math.max(0, report.nprobes.indexOf(report.headline.at));
}

/** The README block: one row per variant, then the correlation with Δcos and what follows. */
export function renderCiTestMarkdown(report: CiTestReport): string {
  const i = headlineIndex(report);
  const at = report.nprobes[i]!;
  const lines: string[] = [];
  lines.push(
    `| SymmAligner | seeds | Δcos | cross-tower gap | positive's list probed, CI − IVF (nprobe ${at}) | Recall@10, CI − IVF (nprobe ${at}) | per seed | sign test: wins / losses, p | Recall@10, CI − IVF (${report.budgets[i]!.toLocaleString('en-US')} items scanned) | Recall@10, CI+Q − IVF (nprobe ${at}) |`,
  );
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const v of report.variants) {
    const ci = v.pairs.ci.atNprobe[i]!;
    const budget = v.pairs.ci.atBudget[i]!;
    const withQueries = v.pairs['ci+q'].atNprobe[i]!;
    lines.push(
      `| ${variantName(v)} | ${v.seeds.join(', ')} | ${signed(v.deltaCos.mean, 3)} ± ${v.deltaCos.std.toFixed(3)} | ${v.crossTowerGap.mean.toFixed(3)} | ${interval(ci.probed)} | ${interval(ci.recall)} | ${perSeed(ci.recall)} | ${ci.recall.wins} / ${ci.recall.losses}, ${pValue(ci.recall.p)} | ${interval(budget.recall)} | ${interval(withQueries.recall)} |`,
    );
  }
  lines.push('');
  const correlation = report.correlations.find((c) => c.pair === 'ci' && c.grid === report.headline.grid && c.at === at);
  const queries = report.variants[0]?.queries ?? 0;
  lines.push(
    `Mean per-query differences (method − item view) over ${queries.toLocaleString('en-US')} ${report.split} queries, each query's difference averaged over the seeds listed: 95% bootstrap intervals over queries, the sign test over queries, and each seed's own mean; one global IVF${report.nlist} quantizer per layout over ${report.corpus.toLocaleString('en-US')} passages, lists storing f_i(I).`,
  );
  const scanned = scannedAtBudget(report, i);
  if (scanned)
    lines.push(
      `Equal work: each layout probes lists in order while the items scanned stay within ${report.budgets[i]!.toLocaleString('en-US')} (its first list always), on average ${scanned} items at that point.`,
    );
  if (correlation)
    lines.push(
      `CI's Recall@10 gain at nprobe ${at} against Δcos over the ${correlation.n} checkpoints: Pearson r = ${correlation.pearson.toFixed(2)}, Spearman ρ = ${correlation.spearman.toFixed(2)}.`,
    );
  const verdicts = report.variants.map((v) => `${variantName(v)}: ${verdict(v.pairs.ci.atNprobe[i]!.recall)}`);
  lines.push(
    `CI's Recall@10 against IVF's at nprobe ${at} (higher or lower where the interval and every seed's mean lie on one side of zero): ${verdicts.join('; ')}.`,
  );
  return lines.join('\n');
}

export function renderCiTestHtml(report: CiTestReport): string {
  const i = headlineIndex(report);
  const plot = (title: string, yLabel: string, grid: 'atNprobe' | 'atBudget', pair: 'ci' | 'ci+q', metric: 'recall' | 'probed' | 'overlap') =>
    linePlot({
      title,
      xLabel: grid === 'atNprobe' ? 'nprobe' : `items scanned (in lists of ${Math.round(report.corpus / report.nlist)} on average)`,
      yLabel,
      logX: true,
      series: report.variants.map((v): Series => ({
        name: variantName(v),
        points: v.pairs[pair][grid].map((p, j) => [grid === 'atNprobe' ? p.at : report.budgets[j]!, p[metric].mean]),
      })),
    });
  const scatter = linePlot({
    title: `CI − IVF Recall@10 at nprobe ${report.nprobes[i]} against Δcos`,
    xLabel: 'Δcos = cos(f_q q, f_q d⁺) − cos(f_q q, f_i d⁺)',
    yLabel: 'Recall@10 difference',
    markersOnly: true,
    series: report.variants.map((v) => ({
      name: variantName(v),
      points: report.checkpoints.filter((c) => c.cell === v.cell).map((c): [number, number] => [c.deltaCos, c.pairs.ci.atNprobe[i]!.recall.mean]),
    })),
  });
  const rows = report.checkpoints
    .map((c) => {
      const m = c.methods;
      return `<tr><td>${escapeHtml(Object.values(c.labels).join(' · ') || c.cell)}</td><td>${c.seed}</td><td>${c.deltaCos.toFixed(4)}</td><td>${c.positiveCosine.toFixed(3)}</td><td>${c.crossTowerGap.toFixed(3)}</td>${(
        ['item', 'ci', 'ci+q'] as const
      )
        .map(
          (k) =>
            `<td>${m[k].atNprobe[i]!.recall.toFixed(4)}</td><td>${m[k].atNprobe[i]!.probed.toFixed(3)}</td><td>${Math.round(m[k].atNprobe[i]!.scanned)}</td><td>${c.imbalance[k].toFixed(2)}</td>`,
        )
        .join('')}</tr>`;
    })
    .join('\n');
  const body = `<h1>${escapeHtml(report.title)}: a paired test of consistent indexing</h1>
<p class="note">Per checkpoint, every judged ${escapeHtml(report.split)} query walks three IVF${report.nlist},Flat layouts of the ${report.corpus.toLocaleString('en-US')} passages:
${Object.entries(report.methods)
  .map(([k, d]) => `<b>${escapeHtml(k)}</b> (${escapeHtml(d)})`)
  .join('; ')}. Differences are per query, method − item view, averaged over each variant's seeds; intervals are 95% bootstraps over queries.</p>
${renderCiTestMarkdownTable(report)}
${plot('Recall@10: CI − IVF at equal nprobe', 'Recall@10 difference', 'atNprobe', 'ci', 'recall')}
${plot('Recall@10: CI − IVF at equal items scanned', 'Recall@10 difference', 'atBudget', 'ci', 'recall')}
${plot("Positive's list probed: CI − IVF", 'difference in share probed', 'atNprobe', 'ci', 'probed')}
${plot('Recall@10: CI with training queries − IVF', 'Recall@10 difference', 'atNprobe', 'ci+q', 'recall')}
${scatter}
<h2>Checkpoints at nprobe ${report.nprobes[i]}</h2>
<table><tr><th>variant</th><th>seed</th><th>Δcos</th><th>cos(f_q q, f_i d⁺)</th><th>gap</th>${(['item', 'ci', 'ci+q'] as const)
    .map((k) => `<th>${k} R@10</th><th>${k} probed</th><th>${k} scanned</th><th>${k} imbalance</th>`)
    .join('')}</tr>
${rows}</table>`;
  return reportPage(`${report.title}: CI test`, body);
}

/** The variants' table as HTML (the README block's numbers). */
function renderCiTestMarkdownTable(report: CiTestReport): string {
  const i = headlineIndex(report);
  const cells = report.variants
    .map((v) => {
      const ci = v.pairs.ci.atNprobe[i]!;
      return `<tr><td>${escapeHtml(variantName(v))}</td><td>${v.seeds.join(', ')}</td><td>${signed(v.deltaCos.mean, 3)}</td><td>${interval(ci.probed)}</td><td>${interval(ci.recall)}</td><td>${perSeed(ci.recall)}</td><td>${ci.recall.wins} / ${ci.recall.losses}, p ${pValue(ci.recall.p)}</td><td>${interval(v.pairs.ci.atBudget[i]!.recall)}</td><td>${interval(v.pairs['ci+q'].atNprobe[i]!.recall)}</td></tr>`;
    })
    .join('\n');
  return `<table><tr><th>variant</th><th>seeds</th><th>Δcos</th><th>probed, CI − IVF</th><th>R@10, CI − IVF</th><th>per seed</th><th>sign test</th><th>R@10 at ${report.budgets[i]} scanned</th><th>R@10, CI+Q − IVF</th></tr>
${cells}</table>`;
}
