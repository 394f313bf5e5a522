import { Command, Option } from 'commander';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../common/index.js';
import { uploadDir } from '../storage/index.js';
import { openServing } from './cluster-context.js';
import {
  BeirIngester,
  DprJsonIngester,
  ParquetIngester,
  runIngest,
  STDIN_INPUT,
  TsvIngester,
  WordnetIngester,
  wordnetDictDir,
  type Ingester,
  type Manifest,
  type SourceFormat,
} from '../shards/index.js';
import type { ShardLayout } from '../shards/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { progressReporter } from './progress.js';
import { positiveInt } from './parse.js';

interface IngestFlags {
  format: SourceFormat;
  input?: string;
  out: string;
  shards?: number;
  rowsPerShard?: number;
  batchRows?: number;
  maxLineBytes?: number;
  qrelsSplit?: string;
  strict?: boolean;
  json?: boolean;
}

export function ingestCommand(globals: () => GlobalOptions): Command {
  return new Command('ingest')
    .description('Turn a corpus into Arrow passage shards with a manifest; rejected rows go to rejected.jsonl with reasons')
    .addOption(new Option('--format <format>', 'input format').choices(['tsv', 'beir', 'dpr', 'parquet', 'wordnet']).makeOptionMandatory())
    .option(
      '--input <path>',
      'psgs_w100.tsv file or - for standard input (tsv), BEIR folder (beir), DPR retriever JSON (dpr), Parquet file or Hugging Face datasets folder (parquet); .gz files are read as they are; not needed for wordnet',
    )
    .requiredOption('--out <dir>', 'output folder for shards, manifest.json, queries and judgments (a key prefix when storage.kind is nats-object-store)')
    .option('--shards <n>', 'split into exactly N shards of equal size', positiveInt('--shards'))
    .option('--rows-per-shard <r>', 'at most R rows per shard (default from config ingest.rowsPerShard)', positiveInt('--rows-per-shard'))
    .option('--batch-rows <n>', 'rows per Arrow record batch', positiveInt('--batch-rows'))
    .option('--max-line-bytes <n>', 'reject input lines longer than this', positiveInt('--max-line-bytes'))
    .option('--qrels-split <name>', 'split name for a single qrels.tsv or for DPR JSON judgments', 'default')
    .option('--strict', 'fail (exit 3) if any row is rejected; no manifest is published')
    .option('--json', 'print the manifest as JSON on stdout')
    .addHelpText('after', '\nExit codes: 0 done, 1 failed, 2 bad usage or config, 3 rows rejected under --strict.')
    .action(async (flags: IngestFlags) => {
      if (flags.shards !== undefined && flags.rowsPerShard !== undefined) throw new UsageError('give either --shards or --rows-per-shard, not both');
      if (flags.format !== 'wordnet' && !flags.input) throw new UsageError(`--input is required for --format ${flags.format}`);
      if (flags.input === STDIN_INPUT && flags.format !== 'tsv')
        throw new UsageError(`--input - (standard input) reads --format tsv only; ${flags.format} input is a folder or a file read as a whole`, {
          field: '--input',
        });
      const overrides: Record<string, unknown> = {};
      if (flags.strict) overrides['ingest.strict'] = true;
      if (flags.batchRows) overrides['ingest.batchRows'] = flags.batchRows;
      if (flags.maxLineBytes) overrides['ingest.maxLineBytes'] = flags.maxLineBytes;
      const { config, logger } = commandContext(globals(), overrides);
      const log = logger.child({ component: 'ingest' });
      const ingester = makeIngester(flags, config.wordnet);
      const layout: ShardLayout =
        flags.shards !== undefined ? { shardCount: flags.shards } : { rowsPerShard: flags.rowsPerShard ?? config.ingest.rowsPerShard };
      // With the object store as storage, --out is a key: the set is written in a local staging folder, then stored.
      const objectStore = config.storage.kind === 'nats-object-store' ? await openServing(config, `sci-ingest-${process.pid}`, 'cli', undefined, log) : null;
      const outKey = objectStore ? objectStore.storage.checkKey(flags.out).replace(/\/+$/, '') : null;
      const stagingRoot = objectStore ? (objectStore.storage.localRoots[0] ?? tmpdir()) : null;
      if (stagingRoot) mkdirSync(stagingRoot, { recursive: true });
      const staging = stagingRoot ? mkdtempSync(join(stagingRoot, 'ingest-')) : null;
      const progress = progressReporter('ingest', log, { unit: 'MB' });
      const started = performance.now();
      try {
        const { manifest, manifestPath: localManifest } = await runIngest({
          ingester,
          format: flags.format,
          input: flags.input ?? (flags.format === 'wordnet' ? wordnetDictDir() : ''),
          outDir: staging ?? flags.out,
          layout,
          batchRows: config.ingest.batchRows,
          maxLineBytes: config.ingest.maxLineBytes,
          excerptChars: config.ingest.excerptChars,
          strict: config.ingest.strict,
          logger: log,
          onProgress: (p) =>
            // Standard input's size is unknown (total 0): the bar counts what was read.
            progress.update(Math.round(p.bytesDone / 1e6), Math.max(1, Math.round((p.bytesTotal || p.bytesDone) / 1e6)), {
              rows: p.rowsWritten,
              rejected: p.rowsRejected,
            }),
        });
        progress.stop();
        let manifestPath = localManifest;
        if (objectStore && staging && outKey) {
          const keys = await uploadDir(objectStore.storage, staging, outKey);
          log.info({ key: outKey, files: keys.length }, 'shard set stored in the object store');
          manifestPath = `${outKey}/manifest.json (object store)`;
        }
        const seconds = (performance.now() - started) / 1000;
        if (flags.json) process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
        else process.stdout.write(summary(manifest, manifestPath, seconds));
      } finally {
        progress.stop();
        if (staging) rmSync(staging, { recursive: true, force: true });
        await objectStore?.close();
      }
    });
}

function makeIngester(flags: IngestFlags, wordnet: { trainFraction: number; devFraction: number }): Ingester {
  switch (flags.format) {
    case 'tsv':
      return new TsvIngester(flags.input!);
    case 'beir':
      return new BeirIngester(flags.input!, { ...(flags.qrelsSplit ? { qrelsSplit: flags.qrelsSplit } : {}) });
    case 'dpr':
      return new DprJsonIngester(flags.input!, { ...(flags.qrelsSplit ? { split: flags.qrelsSplit } : {}) });
    case 'parquet':
      return new ParquetIngester(flags.input!);
    case 'wordnet':
      return new WordnetIngester(wordnet, flags.input);
  }
}

/** The one-screen summary printed when --json is not given. */
export function summary(m: Manifest, manifestPath: string, seconds: number): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const lines = [
    `ingested ${m.source.format} ${m.source.input}`,
    `  passages   in ${n(m.rowsIn)} = written ${n(m.rowsWritten)} + rejected ${n(m.rowsRejected)}` +
      (m.passageReferences ? `  (${n(m.passageReferences)} repeat references)` : ''),
    `  shards     ${m.shards.length} (${m.shards
      .map((s) => s.rows)
      .join(', ')
      .slice(0, 60)}${m.shards.length > 8 ? ', …' : ''} rows)`,
  ];
  if (m.queries)
    lines.push(
      `  queries    in ${n(m.queries.rowsIn)} = written ${n(m.queries.rowsWritten)} + rejected ${n(m.queries.rowsRejected)}  splits ${JSON.stringify(m.queries.splits)}`,
    );
  if (m.qrels)
    lines.push(
      `  judgments  in ${n(m.qrels.rowsIn)} = written ${n(m.qrels.rowsWritten)} + rejected ${n(m.qrels.rowsRejected)}  splits ${Object.entries(m.qrels.splits)
        .map(([k, v]) => `${k}:${v.rows}`)
        .join(' ')}`,
    );
  if (m.negatives)
    lines.push(
      `  negatives  ${Object.entries(m.negatives.splits)
        .map(([k, v]) => `${k}:${v.rows}`)
        .join(' ')}`,
    );
  const reasons = Object.entries(m.rejectReasons);
  if (reasons.length > 0) lines.push(`  rejected   ${reasons.map(([k, v]) => `${k} ${v}`).join(', ')} → ${m.rejectedPath}`);
  const skipped = Object.entries(m.linesSkipped);
  if (skipped.length > 0) lines.push(`  skipped    ${skipped.map(([k, v]) => `${v} ${k} line(s)`).join(', ')} (not rows)`);
  lines.push(`  time       ${seconds.toFixed(1)} s, ${n(Math.round(m.rowsIn / Math.max(seconds, 1e-3)))} rows/s`);
  lines.push(`  manifest   ${manifestPath}`);
  return `${lines.join('\n')}\n`;
}
