import { REPORT_METRICS } from '../eval/index.js';
import type { PipelineRecord } from './record.js';
import { codeLabel, ResultRecordError } from '../results/index.js';

/*
 * The README's pipeline tables, rendered from a result record (a test
 * compares the README's block with this function's output for the committed
 * record, so every figure there is the record's).
 */

type Row = PipelineRecord['body']['summary']['rows'][number];

/** A person's name for a pipeline row. */
export function pipelineRowLabel(stage: string): string {
  if (stage === 'bm25') return 'BM25';
  if (stage === 'hashed') return 'hashed TF-IDF (256-d)';
  if (stage === 'hybrid') return 'hybrid: final stage + BM25 (RRF)';
  if (stage === 'stage1') return 'stage 1 (in-batch)';
  if (stage === 'stage2') return 'stage 2 (+ BM25 negatives)';
  const round = /^stage3\.r(\d+)$/.exec(stage);
  if (round) return round[1] === '1' ? 'stage 3, round 1 (+ dense negatives)' : `stage 3, round ${round[1]}`;
  return stage;
}

const fixed4 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(4));
const thousands = (n: number) => n.toLocaleString('en-US');

/** The rows in pipeline order (baselines, then stages by steps), one per stage, with each split's summary row. */
function stagesOf(record: PipelineRecord): Array<{ stage: string; steps: number | null; bySplit: Map<string, Row> }> {
  const out: Array<{ stage: string; steps: number | null; bySplit: Map<string, Row> }> = [];
  for (const row of record.body.summary.rows) {
    let entry = out.find((e) => e.stage === row.stage);
    if (!entry) out.push((entry = { stage: row.stage, steps: row.trainedSteps, bySplit: new Map() }));
    entry.bySplit.set(row.split, row);
  }
  return out;
}

function splitsOf(record: PipelineRecord): string[] {
  const splits = [...new Set(record.body.summary.rows.map((r) => r.split))];
  const selection = record.body.selectionSplit;
  return splits.sort((a, b) => (a === selection ? -1 : b === selection ? 1 : a.localeCompare(b)));
}

/** Markdown: which code and seeds, then stage × (split, metric) as mean ± sample std; the best mean of each column in bold. */
export function renderPipelineMarkdown(record: PipelineRecord): string {
  const code = codeLabel(record.provenance);
  const stages = stagesOf(record);
  const splits = splitsOf(record);
  const columns = splits.flatMap((split) => REPORT_METRICS.map((metric) => ({ split, metric })));
  const best = columns.map(({ split, metric }) => Math.max(...stages.map((s) => s.bySplit.get(split)?.mean[metric] ?? -Infinity)));
  const firstRun = record.body.runs[0]!;
  const queries = splits.map((split) => `${split} ${thousands(firstRun.results.find((r) => r.split === split)?.queries ?? 0)}`).join(', ');
  const passages = thousands(firstRun.results[0]?.passages ?? 0);
  const lines = [
    `Pipeline \`${record.name}\` at commit ${code}, seeds ${record.seeds.join(', ')}, resolved config \`${record.configFingerprint}\`, made by \`${record.command}\`. ` +
      `Every figure is a mean over the split's judged queries (${queries}) searched over all ${passages} passages through scatter-gather; ` +
      `trained rows are mean ± sample std over the seeds; BM25 and the hashed baseline are seed-independent.`,
    '',
    `| row | steps | ${columns.map((c) => `${c.split} ${c.metric}`).join(' | ')} |`,
    `|---|---|${columns.map(() => '---').join('|')}|`,
  ];
  for (const stage of stages) {
    const cells = columns.map(({ split, metric }, i) => {
      const row = stage.bySplit.get(split);
      const mean = row?.mean[metric];
      if (row === undefined || mean === undefined) return '-';
      const text = row.trainedSteps !== null && row.seeds > 1 ? `${fixed4(mean)} ± ${fixed4(row.std[metric])}` : fixed4(mean);
      return mean === best[i] ? `**${text}**` : text;
    });
    lines.push(`| ${pipelineRowLabel(stage.stage)} | ${stage.steps === null ? '-' : thousands(stage.steps)} | ${cells.join(' | ')} |`);
  }
  lines.push('', renderPipelineTimes(record));
  return lines.join('\n');
}

/** Seconds per kind of step, per seed (work shared by seeds is counted in the seed that did it). */
export function pipelineTimes(record: PipelineRecord): Array<{ seed: number; train: number; jobs: number; evals: number; total: number }> {
  return record.body.runs.map((run) => {
    const sum = (kind: RegExp) => run.steps.filter((s) => !s.reused && kind.test(s.id)).reduce((a, s) => a + s.seconds, 0);
    const train = sum(/\.train$/);
    const evals = sum(/\.(eval|analysis)(\.|$)/);
    const total = sum(/./);
    return { seed: run.seed, train, jobs: total - train - evals, evals, total };
  });
}

function renderPipelineTimes(record: PipelineRecord): string {
  const minutes = (s: number) => `${(s / 60).toFixed(1)} min`;
  const parts = pipelineTimes(record).map(
    (t) => `seed ${t.seed} ${minutes(t.total)} (training ${Math.round(t.train)} s, jobs ${Math.round(t.jobs)} s, evaluations ${Math.round(t.evals)} s)`,
  );
  const machine = record.provenance[0]!;
  return `Step times on ${machine.cores} cores (${machine.cpu}): ${parts.join('; ')}.`;
}

/** Whether each seed of `check` falls inside mean ± 3·std of `reference`, per trained row and metric. */
export function seedCheck(
  reference: PipelineRecord,
  check: PipelineRecord,
): Array<{ stage: string; split: string; metric: string; mean: number; std: number; seed: number; value: number; inside: boolean }> {
  const out = [];
  for (const row of reference.body.summary.rows) {
    if (row.trainedSteps === null) continue;
    for (const metric of REPORT_METRICS) {
      const mean = row.mean[metric];
      const std = row.std[metric];
      if (mean === undefined || std === undefined) continue;
      for (const run of check.body.runs) {
        const value = run.results.find((r) => r.stage === row.stage && r.split === row.split)?.metrics[metric];
        if (value === undefined) continue;
        out.push({ stage: row.stage, split: row.split, metric, mean, std, seed: run.seed, value, inside: Math.abs(value - mean) <= 3 * std });
      }
    }
  }
  return out;
}

/**
 * Markdown of seedCheck: one line saying how many of the check seeds' values fall inside mean ± 3·std, then a
 * table of the final trained stage (every split and metric) and of every value outside, in stds from the mean.
 */
export function renderSeedCheck(reference: PipelineRecord, check: PipelineRecord, finalStage: string): string {
  if (check.configFingerprint !== reference.configFingerprint)
    throw new ResultRecordError(`a seed check compares runs of one config: ${check.configFingerprint} is not ${reference.configFingerprint}`);
  const rows = seedCheck(reference, check);
  const seeds = [...new Set(rows.map((r) => r.seed))];
  const inside = rows.filter((r) => r.inside).length;
  const lines = [
    `Seeds ${seeds.join(' and ')} against seeds ${reference.seeds.join(', ')} (\`${check.provenance.map((p) => p.commit?.slice(0, 10) ?? 'unknown').join(', ')}\`, the same resolved config \`${check.configFingerprint}\`): ` +
      `${inside} of ${rows.length} values (every trained row, split and metric) inside mean ± 3 std.`,
    '',
    `| row | split | metric | seeds ${reference.seeds.join(', ')} mean ± std | ${seeds.map((s) => `seed ${s} (Δ in std)`).join(' | ')} |`,
    `|---|---|---|---|${seeds.map(() => '---').join('|')}|`,
  ];
  const keys = [...new Set(rows.map((r) => `${r.stage}\u0000${r.split}\u0000${r.metric}`))];
  for (const key of keys) {
    const [stage, split, metric] = key.split('\u0000') as [string, string, string];
    const group = rows.filter((r) => r.stage === stage && r.split === split && r.metric === metric);
    if (stage !== finalStage && group.every((r) => r.inside)) continue;
    const { mean, std } = group[0]!;
    const cells = seeds.map((seed) => {
      const r = group.find((g) => g.seed === seed);
      if (!r) return '-';
      // Rounded before the sign is chosen, so a float's -0.04 reads +0.0.
      const z = std > 0 ? Math.round(((r.value - mean) / std) * 10) / 10 + 0 : Number.NaN;
      return `${fixed4(r.value)} (${Number.isFinite(z) ? `${z >= 0 ? '+' : ''}${z.toFixed(1)}` : 'n/a'})${r.inside ? '' : ' **outside**'}`;
    });
    lines.push(`| ${pipelineRowLabel(stage)} | ${split} | ${metric} | ${fixed4(mean)} ± ${fixed4(std)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Two or more single-config records side by side (e.g. an A/B of one setting): per stage, each record's mean of each metric. */
export function renderRecordComparison(
  records: ReadonlyArray<{ label: string; record: PipelineRecord }>,
  metrics: readonly string[],
  splits: readonly string[],
): string {
  const stages = stagesOf(records[0]!.record);
  const columns = splits.flatMap((split) => metrics.flatMap((metric) => records.map(({ label, record }) => ({ split, metric, label, record }))));
  const lines = [`| row | ${columns.map((c) => `${c.split} ${c.metric}, ${c.label}`).join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`];
  for (const stage of stages) {
    const cells = columns.map(({ split, metric, record }) =>
      fixed4(
        stagesOf(record)
          .find((s) => s.stage === stage.stage)
          ?.bySplit.get(split)?.mean[metric],
      ),
    );
    lines.push(`| ${pipelineRowLabel(stage.stage)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * One line for a first screen (the demo's last lines): the pipeline's final trained row, BM25 and the
 * hybrid row on the selection split, each a mean over the record's seeds, with the command and the record.
 */
export function pipelineHeadline(record: PipelineRecord, finalStage: string, recordPath: string): string {
  const split = record.body.selectionSplit;
  const row = (stage: string) => {
    const found = record.body.summary.rows.find((r) => r.stage === stage && r.split === split);
    if (!found) throw new ResultRecordError(`record ${recordPath} has no ${stage} row on ${split}`, { file: recordPath });
    return found;
  };
  const final = row(finalStage);
  const bm25 = row('bm25');
  const hybrid = record.body.summary.rows.find((r) => r.stage === 'hybrid' && r.split === split);
  const metrics = ['Recall@10', 'MRR@10', 'Recall@100'];
  const commit = record.provenance.map((p) => p.commit?.slice(0, 7) ?? 'unknown').join(', ');
  return (
    `Trained further by the three-stage pipeline (\`sci cluster up && sci pipeline run config/pipelines/${record.name}.yaml\`), the dense model reaches ` +
    `${split} ${metrics.map((m) => `${m} ${fixed4(final.mean[m])} ± ${fixed4(final.std[m])}`).join(', ')} (BM25: ${metrics.map((m) => fixed4(bm25.mean[m])).join(', ')})` +
    (hybrid ? `; fused with BM25, Recall@10 ${fixed4(hybrid.mean['Recall@10'])} and Recall@100 ${fixed4(hybrid.mean['Recall@100'])}` : '') +
    ` (seeds ${record.seeds.join(', ')} at ${commit}: ${recordPath}).`
  );
}

/** One configuration's run in a lever table: which record, which of its seeds, and how a person names it. */
export interface LeverRun {
  label: string;
  record: PipelineRecord;
  seed: number;
}

/**
 * Markdown: one row per configuration (a seed of each record, so runs of one seed compare like for
 * like), one column per (stage, metric) on `split`, each row with the commit that ran it; the best
 * value of each column in bold.
 */
export function renderLeverTable(runs: readonly LeverRun[], columns: ReadonlyArray<{ stage: string; metric: string }>, split: string): string {
  const values = runs.map(({ record, seed, label }) => {
    const run = record.body.runs.find((r) => r.seed === seed);
    if (!run) throw new ResultRecordError(`the record of "${label}" has no seed ${seed}`);
    return columns.map(({ stage, metric }) => run.results.find((r) => r.stage === stage && r.split === split)?.metrics[metric]);
  });
  const best = columns.map((_, c) => Math.max(...values.map((row) => row[c] ?? -Infinity)));
  const lines = [
    `| configuration (seed) | code | ${columns.map((c) => `${split} ${c.metric}, ${pipelineRowLabel(c.stage)}`).join(' | ')} |`,
    `|---|---|${columns.map(() => '---').join('|')}|`,
  ];
  runs.forEach(({ label, record, seed }, r) => {
    const cells = values[r]!.map((v, c) => (v !== undefined && v === best[c] ? `**${fixed4(v)}**` : fixed4(v)));
    lines.push(`| ${label} (${seed}) | ${codeLabel(record.provenance)} | ${cells.join(' | ')} |`);
  });
  return lines.join('\n');
}
