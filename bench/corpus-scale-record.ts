/*
 * bench/corpus-scale's result record (docs/scale/corpus-*.json) and the README
 * table made from the records: the run's commit and machine, its parameters,
 * every stage's time, rate, peak memory and bytes, the evaluation, the disk.
 * The README block between `<!-- corpus-scale:start -->` and
 * `<!-- corpus-scale:end -->` is renderCorpusScaleMarkdown of the committed
 * records, and a test holds it to them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ProvenanceSchema } from '../results/index.js';
import { StageResultSchema, ParamsSchema } from './corpus-scale-state.js';
import { replaceReadmeBlock } from './record-file.js';

export const CORPUS_SCALE_RECORD = 'sci-cluster/corpus-scale-record@1';

const LatencySchema = z.strictObject({ clients: z.number().int().positive(), p50Ms: z.number(), p99Ms: z.number(), qps: z.number() });

export const CorpusScaleRecordSchema = z.strictObject({
  format: z.literal(CORPUS_SCALE_RECORD),
  /** The command that made it. */
  command: z.string(),
  provenance: ProvenanceSchema,
  /** The code of every attempt of the run, in order (one entry: the whole run at one commit). */
  code: z.array(z.string()).min(1),
  params: ParamsSchema,
  clients: z.array(z.number().int().positive()),
  stages: z.array(StageResultSchema),
  evaluation: z.strictObject({
    queries: z.number().int().positive(),
    successAt10: z.strictObject({ exact: z.number(), ivfpq: z.number(), bm25: z.number() }),
    ivfpqRecallAt10: z.number(),
    latency: z.strictObject({ ivfpq: z.array(LatencySchema), bm25: z.array(LatencySchema) }),
  }),
  disk: z.strictObject({
    passages: z.number().int().nonnegative(),
    embeddings: z.number().int().nonnegative(),
    indexes: z.number().int().nonnegative(),
    model: z.number().int().nonnegative(),
    negatives: z.number().int().nonnegative(),
    bytesPerPassage: z.number().positive(),
  }),
});
export type CorpusScaleRecord = z.infer<typeof CorpusScaleRecordSchema>;

export const CORPUS_SCALE_BLOCK = /(<!-- corpus-scale:start -->\n)([\s\S]*?)(\n<!-- corpus-scale:end -->)/;

/** The committed records in `dir` (docs/scale/corpus-*.json), smallest corpus first. */
export function readCorpusScaleRecords(dir: string): CorpusScaleRecord[] {
  return readdirSync(dir)
    .filter((name) => /^corpus-.*\.json$/.test(name))
    .map((name) => CorpusScaleRecordSchema.parse(JSON.parse(readFileSync(join(dir, name), 'utf8'))))
    .sort((a, b) => a.params.rows - b.params.rows);
}

/** A corpus size as tables name it: 1M, 21M, else the count. */
export const size = (rows: number) => (rows >= 1e6 && rows % 1e5 === 0 ? `${rows / 1e6}M` : rows.toLocaleString('en-US'));
/** A figure with `digits` decimals and thousands separators. */
export const num = (x: number, digits = 1) => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const mib = (bytes: number) => num(bytes / 2 ** 20, 0);

/** The README's corpus-scale tables: stages (with the per-row cost of the largest run against the smallest), quality and latency, disk. */
export function renderCorpusScaleMarkdown(given: readonly CorpusScaleRecord[]): string {
  const records = [...given].sort((a, b) => a.params.rows - b.params.rows);
  if (records.length === 0) return '_No corpus-scale record yet._';
  const first = records[0]!;
  const last = records[records.length - 1]!;
  const lines: string[] = [];
  const sizes = records.map((r) => size(r.params.rows));
  const ratio = records.length > 1 ? [`per row, ${size(last.params.rows)} / ${size(first.params.rows)}`] : [];
  lines.push(`| stage | ${sizes.map((s) => `${s}: s | ${s}: rate`).join(' | ')} | ${[...ratio, 'peak RSS by role (MiB)', 'on disk (MiB)'].join(' | ')} |`);
  lines.push(`| --- | ${sizes.map(() => '---: | ---:').join(' | ')} | ${[...ratio.map(() => '---:'), '---', '---'].join(' | ')} |`);
  for (const stage of first.stages.map((s) => s.stage)) {
    const runs = records.map((r) => r.stages.find((s) => s.stage === stage));
    const rate = (items: number, seconds: number) => num(items / seconds, items / seconds < 10 ? 1 : 0);
    const cells = runs.map((s) => (s ? `${num(s.seconds)} | ${rate(s.items, s.seconds)} ${s.unit}/s` : '– | –'));
    const a = runs[0];
    const b = runs[runs.length - 1];
    const perRow =
      records.length > 1 ? [a && b && a.unit === 'passages' && b.unit === 'passages' ? num(b.seconds / b.items / (a.seconds / a.items), 2) : '–'] : [];
    const roles = [...new Set(runs.flatMap((s) => Object.keys(s?.peakRssMiB ?? {})))];
    const rss = roles
      .map((role) => `${role} ${runs.map((s) => (s?.peakRssMiB[role] === undefined ? '–' : num(s.peakRssMiB[role], 0))).join(' → ')}`)
      .join(', ');
    const disk = stage === 'serve' || stage === 'eval' ? '–' : runs.map((s) => (s ? mib(s.bytes) : '–')).join(' → ');
    lines.push(`| ${stage} | ${cells.join(' | ')} | ${[...perRow, rss, disk].join(' | ')} |`);
  }
  lines.push('');
  lines.push(
    '| corpus | dev queries | source in top 10: exact / IVF-PQ / BM25 | IVF-PQ Recall@10 vs exact | IVF-PQ p50 / p99 (ms), QPS | BM25 p50 / p99 (ms), QPS |',
  );
  lines.push('| --- | ---: | ---: | ---: | --- | --- |');
  for (const r of records) {
    const e = r.evaluation;
    const runs = (list: CorpusScaleRecord['evaluation']['latency']['ivfpq']) =>
      list.map((l) => `${l.clients} client${l.clients > 1 ? 's' : ''}: ${num(l.p50Ms)} / ${num(l.p99Ms)}, ${num(l.qps, 0)}`).join('; ');
    lines.push(
      `| ${size(r.params.rows)} ${r.params.kind}, ${r.params.shards} shards | ${e.queries} | ${pct(e.successAt10.exact)} / ${pct(e.successAt10.ivfpq)} / ${pct(e.successAt10.bm25)} | ${e.ivfpqRecallAt10.toFixed(3)} | ${runs(e.latency.ivfpq)} | ${runs(e.latency.bm25)} |`,
    );
  }
  lines.push('');
  for (const r of records) {
    const kb = (bytes: number) => (bytes / r.params.rows / 1000).toFixed(2);
    const d = r.disk;
    lines.push(
      `- ${size(r.params.rows)}: **${(d.bytesPerPassage / 1000).toFixed(2)} KB a passage** on disk (passages and queries ${kb(d.passages)}, ${r.params.dtype} embeddings ${kb(d.embeddings)}, indexes ${kb(d.indexes)}, model ${kb(d.model)}, negatives ${kb(d.negatives)}); \`${r.command}\` at ${r.code.join(' then ')}, ${r.provenance.cores} cores, ${r.provenance.memoryGiB} GiB.`,
    );
  }
  return lines.join('\n');
}

/** Rewrites the README's corpus-scale block from the records in `recordsDir`. */
export function writeCorpusScaleReadme(readmePath: string, recordsDir: string): void {
  replaceReadmeBlock(readmePath, CORPUS_SCALE_BLOCK, 'corpus-scale', renderCorpusScaleMarkdown(readCorpusScaleRecords(recordsDir)));
}
