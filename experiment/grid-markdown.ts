import { codeLabel } from '../results/index.js';
import type { GridRecord } from './record.js';
import type { GridRow, MeanStd, SweepSummary } from './report.js';

/*
 * A grid's README tables, rendered from its result record (the README's
 * block is compared with this output for the committed record by a test):
 * which code, config and seeds; one line per baseline and per grid row with
 * the quality metrics, and the geometry and HNSW work where the grid measured
 * them; then, where rows were swept over nprobe, Recall@10 at a few nprobe
 * values for every swept index.
 */

const fixed = (digits: number) => (m: MeanStd | undefined) =>
  m === undefined || m.n === 0 || !Number.isFinite(m.mean) ? '' : m.n > 1 ? `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}` : m.mean.toFixed(digits);
const four = fixed(4);
const three = fixed(3);
const whole = (m: MeanStd | undefined) =>
  m === undefined || m.n === 0 ? '' : `${Math.round(m.mean).toLocaleString('en-US')}${m.n > 1 ? ` ± ${Math.round(m.std).toLocaleString('en-US')}` : ''}`;

/** A row's name: its cell's axis labels, and the row label when the grid has several rows per cell. */
function rowName(row: GridRow, severalRows: boolean): string {
  const labels = Object.values(row.labels).join(' · ');
  return severalRows ? `${labels}, ${row.row}` : labels;
}

interface Column {
  header: string;
  value: (row: GridRow) => string;
  baseline?: (b: GridRecord['body']['baselines'][number]) => string;
}

/**
 * The README block of a grid record. `nprobes`: the sweep points shown (those the sweeps have);
 * `uniformity`: a column for the rows' uniformity, beside cos(q, d⁺) (the trade the thesis grid reads).
 */
export function renderGridMarkdown(record: GridRecord, options: { nprobes?: readonly number[]; uniformity?: boolean } = {}): string {
  const report = record.body;
  const rows = report.rows.filter((r) => r.seeds.length > 0);
  const severalRows = new Set(report.rows.map((r) => r.row)).size > 1;
  const code = codeLabel(record.provenance);
  const axisNames = report.axes.map((a) => a.name).join(' × ');
  const columns: Column[] = [
    { header: 'seeds', value: (r) => r.seeds.join(', '), baseline: () => '' },
    ...(['dev', 'test'] as const).flatMap((split) =>
      ['Recall@10', 'MRR@10', 'Recall@100'].map((metric) => ({
        header: `${split} ${metric}`,
        value: (r: GridRow) => four(r[split][metric]),
        baseline: (b: GridRecord['body']['baselines'][number]) => four(b[split][metric]),
      })),
    ),
  ];
  if (rows.some((r) => r.geometry)) {
    columns.push({ header: 'cos(q, d⁺)', value: (r) => three(r.geometry?.positiveCosine) });
    if (options.uniformity) columns.push({ header: 'uniformity', value: (r) => three(r.geometry?.uniformity) });
    if (rows.some((r) => (r.geometry?.crossTowerGap.mean ?? 0) > 0))
      columns.push({ header: 'cross-tower gap', value: (r) => three(r.geometry?.crossTowerGap) });
  }
  if (rows.some((r) => r.hnsw)) {
    const target = rows.find((r) => r.hnsw)!.hnsw!.target;
    columns.push({ header: `HNSW distances / query at overlap ${target}`, value: (r) => whole(r.hnsw?.ndisPerQuery) });
  }
  const lines = [
    `Grid \`${record.name}\` (${axisNames}) at commit ${code}, seeds ${record.seeds.join(', ')}, made by \`${record.command}\`; ` +
      `every row's cell config resolved and fingerprinted in the record. Whole-corpus figures, mean ± sample std over the seeds listed; baselines are seed-independent.`,
    '',
    `| ${axisNames} | ${columns.map((c) => c.header).join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
  ];
  for (const b of report.baselines)
    lines.push(`| ${b.name === 'bm25' ? 'BM25' : b.name === 'hashed' ? 'hashed TF-IDF' : b.name} | ${columns.map((c) => c.baseline?.(b) ?? '').join(' | ')} |`);
  for (const r of rows) lines.push(`| ${rowName(r, severalRows)} | ${columns.map((c) => c.value(r)).join(' | ')} |`);

  const swept = rows.filter((r) => r.sweeps.some((s) => s.param === 'nprobe'));
  if (swept.length > 0) {
    const indexes: SweepSummary[] = swept[0]!.sweeps.filter((s) => s.param === 'nprobe');
    const available = indexes[0]!.points.map((p) => p.value);
    const shown = (options.nprobes ?? available).filter((v) => available.includes(v));
    const queries = (s: SweepSummary) => `${s.index}: ${s.factory}${s.dualView ? ', CI (dual-view)' : ''}`;
    lines.push(
      '',
      `Recall@10 at nprobe ${shown.join(' / ')} per index (${indexes.map(queries).join('; ')}), mean ± sample std over the seeds:`,
      '',
      `| ${axisNames} | ${indexes.map((s) => s.index).join(' | ')} |`,
      `| --- | ${indexes.map(() => '---').join(' | ')} |`,
    );
    for (const r of swept) {
      const cells = indexes.map((s) => {
        const sweep = r.sweeps.find((x) => x.index === s.index && x.param === 'nprobe');
        return shown.map((v) => three(sweep?.points.find((p) => p.value === v)?.recall) || '-').join(' / ');
      });
      lines.push(`| ${rowName(r, severalRows)} | ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}
