/*
 * bench/ingest-scale's result record (docs/scale/ingest-scale.json) and the
 * README block made from it: `sci generate passages | sci ingest` at several
 * sizes in one run on one machine, so the per-row cost of the larger against
 * the smaller is not a comparison of two machines. The block between
 * `<!-- ingest-scale:start -->` and `<!-- ingest-scale:end -->` is
 * renderIngestScaleMarkdown of the committed record, and a test holds it to it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ProvenanceSchema } from '../results/index.js';
import { num, size } from './corpus-scale-record.js';

export const INGEST_SCALE_RECORD = 'sci-cluster/ingest-scale-record@1';

const ByRole = z.strictObject({ generator: z.number().nonnegative(), ingest: z.number().nonnegative() });

export const IngestScaleRunSchema = z.strictObject({
  rows: z.number().int().positive(),
  shards: z.number().int().positive(),
  seconds: z.number().positive(),
  /** CPU seconds (user + system) of each process over the run. */
  cpuSeconds: ByRole,
  peakRssMiB: ByRole,
  /** Bytes of the Arrow set written (passages, manifest, reject log). */
  bytes: z.number().int().nonnegative(),
  /** Whether the page cache was emptied before this size ran (root only), so every size starts alike. */
  pageCacheDropped: z.boolean(),
});
export type IngestScaleRun = z.infer<typeof IngestScaleRunSchema>;

export const IngestScaleRecordSchema = z.strictObject({
  format: z.literal(INGEST_SCALE_RECORD),
  command: z.string(),
  provenance: ProvenanceSchema,
  kind: z.enum(['synsets', 'zipf']),
  rowsPerShard: z.number().int().positive(),
  runs: z.array(IngestScaleRunSchema).min(1),
});
export type IngestScaleRecord = z.infer<typeof IngestScaleRecordSchema>;

export const INGEST_SCALE_BLOCK = /(<!-- ingest-scale:start -->\n)([\s\S]*?)(\n<!-- ingest-scale:end -->)/;

export function readIngestScaleRecord(path: string): IngestScaleRecord {
  return IngestScaleRecordSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** Per-row cost of a run against the first (smallest) run of its record. */
export function perRowRatio(run: IngestScaleRun, first: IngestScaleRun): number {
  return run.seconds / run.rows / (first.seconds / first.rows);
}

/** The README block: one row per size, the per-row cost against the smallest, and how busy each process kept its core. */
export function renderIngestScaleMarkdown(record: IngestScaleRecord): string {
  const runs = [...record.runs].sort((a, b) => a.rows - b.rows);
  const first = runs[0]!;
  const busy = (run: IngestScaleRun, role: 'generator' | 'ingest') =>
    `${num(run.cpuSeconds[role])} s (${Math.round((100 * run.cpuSeconds[role]) / run.seconds)}%)`;
  const lines = [
    '| passages | shards | s | passages/s | per row, against ' +
      size(first.rows) +
      ' | CPU: generator | CPU: ingest | peak RSS: generator / ingest (MiB) | on disk (MiB) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...runs.map(
      (r) =>
        `| ${size(r.rows)} | ${r.shards} | ${num(r.seconds)} | ${num(r.rows / r.seconds, 0)} | ${num(perRowRatio(r, first), 2)} | ${busy(r, 'generator')} | ${busy(r, 'ingest')} | ${num(r.peakRssMiB.generator, 0)} / ${num(r.peakRssMiB.ingest, 0)} | ${num(r.bytes / 2 ** 20, 0)} |`,
    ),
    '',
    `\`${record.command}\` at ${record.provenance.describe ?? 'an unknown commit'}, ${record.provenance.cores} cores, ${record.provenance.memoryGiB} GiB; ${record.kind} passages, ${record.rowsPerShard.toLocaleString('en-US')} a shard; ` +
      (runs.every((r) => r.pageCacheDropped)
        ? 'the page cache emptied before each size.'
        : `the page cache emptied before ${runs.filter((r) => r.pageCacheDropped).length} of ${runs.length} sizes (root only).`),
  ];
  return lines.join('\n');
}
