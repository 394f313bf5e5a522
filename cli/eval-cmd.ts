import { Command } from 'commander';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { UsageError } from '../common/index.js';
import { evaluateHybrid, evaluateIndexes, loadJudgedQueries, writeTrecRun } from '../eval/index.js';
import { SearchService } from '../search/index.js';
import { writeEvalReport, type EvalReport } from '../report/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { openServing, storageKeyOf } from './cluster-context.js';
import { closeBounded } from './processes-cmd.js';
import { positiveInt } from './parse.js';

/*
 * `sci eval`: evaluate indexes of a served index set through scatter-gather
 * (shard servers must be running: `sci serve shards` or `sci cluster serve`).
 * Writes report.json + report.html into --out, and TREC runs with --run.
 */

interface EvalFlags {
  indexSet: string;
  queries: string;
  qrels?: string;
  split?: string;
  index?: string[];
  out: string;
  k: number;
  maxQueries?: number;
  latencyQueries: number;
  sweep: boolean;
  sweepQueries: number;
  batchSize: number;
  deadlineMs?: number;
  run?: string;
  hybrid?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, ...value.split(',').filter(Boolean)];

export function evalCommand(globals: () => GlobalOptions): Command {
  return new Command('eval')
    .description('Evaluate indexes through scatter-gather: quality, latency, inner work, sweeps; report.json + report.html')
    .requiredOption('--index-set <dir>', 'index set (output of an index job), served by shard servers')
    .requiredOption('--queries <path>', 'queries.jsonl, or a shard set folder (its queries.jsonl and qrels/<split>.tsv)')
    .option('--qrels <file>', 'judgments (query-id corpus-id score)')
    .option('--split <name>', 'only queries of this split (e.g. dev)')
    .option('--index <names>', 'indexes to evaluate (repeatable or comma-separated; default all)', collect)
    .requiredOption('--out <dir>', 'report folder')
    .option('--k <k>', 'results per query', positiveInt('--k'), 100)
    .option('--max-queries <n>', 'evaluate at most n queries', positiveInt('--max-queries'))
    .option('--latency-queries <n>', 'single-query requests timed per index', positiveInt('--latency-queries'), 200)
    .option('--no-sweep', 'skip the efSearch / nprobe sweeps')
    .option('--sweep-queries <n>', 'queries per sweep point', positiveInt('--sweep-queries'), 1000)
    .option('--batch-size <n>', 'queries per request in the quality pass', positiveInt('--batch-size'), 64)
    .option('--deadline-ms <ms>', 'scatter-gather deadline', positiveInt('--deadline-ms'))
    .option('--run <file>', 'also write TREC runs (FILE for one index, FILE.<index> for several)')
    .option('--hybrid <dense>', 'also report this dense index and BM25 fused by reciprocal rank, as `sci search --hybrid` fuses them (a row "hybrid")')
    .option('--json', 'print report.json')
    .action(async (flags: EvalFlags) => {
      const { config, logger } = commandContext(globals());
      const log = logger.child({ component: 'eval' });
      if (flags.k < 10) throw new UsageError(`--k must be at least 10 (the report's metrics are @10), got ${flags.k}`);
      if (!flags.qrels && !flags.split) throw new UsageError('give --qrels, or a shard set folder as --queries with --split');
      const { sample, qrels, source } = loadJudgedQueries(flags);
      const cluster = await openServing(config, `sci-eval-${process.pid}`, 'cli');
      try {
        const indexSet = storageKeyOf(config, flags.indexSet);
        const service = await SearchService.open({
          nc: cluster.nc,
          storage: cluster.storage,
          indexSet,
          logger: log,
          deadlineMs: flags.deadlineMs ?? 30_000,
          limits: { maxK: Math.max(flags.k, 1000), maxQueries: Math.max(flags.batchSize, 256) },
          encoderSettings: config.workers.encoder,
        });
        try {
          const names = flags.index ?? service.router.indexSet.names;
          for (const name of names)
            if (!service.router.indexSet.names.includes(name))
              throw new UsageError(`index set has no index "${name}" (it has: ${service.router.indexSet.names.join(', ')})`);
          if (flags.hybrid !== undefined) {
            for (const needed of [flags.hybrid, 'bm25'])
              if (!names.includes(needed)) throw new UsageError(`--hybrid ${flags.hybrid} needs ${needed} among the indexes evaluated (${names.join(', ')})`);
            if (flags.hybrid === 'bm25') throw new UsageError('--hybrid names the dense index to fuse with BM25, not bm25 itself');
          }
          const { reports, runs } = await evaluateIndexes(service, names, sample, qrels, {
            k: flags.k,
            batchSize: flags.batchSize,
            latencyQueries: flags.latencyQueries,
            sweep: flags.sweep,
            sweepQueries: flags.sweepQueries,
            ...(flags.deadlineMs ? { deadlineMs: flags.deadlineMs } : {}),
            onProgress: (m) => log.info(m),
          });
          const report: EvalReport = {
            createdAt: new Date().toISOString(),
            indexSet,
            queries: { source, count: sample.ids.length, split: flags.split ?? null },
            k: flags.k,
            shards: service.router.shards.length,
            environment: {
              node: process.version,
              cpus: `${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}`,
              memoryGiB: Math.round(totalmem() / 2 ** 30),
              storage: cluster.storage.kind,
            },
            indexes: reports,
            hybrid: null,
          };
          if (flags.hybrid !== undefined) {
            const hybrid = evaluateHybrid(runs, flags.hybrid, 'bm25', qrels, flags.k);
            report.hybrid = hybrid.report;
            runs.set('hybrid', new Map([...hybrid.run].map(([id, hits]) => [id, hits.map((h) => ({ docId: h.externalId, score: h.score, rowId: h.rowId }))])));
          }
          const paths = writeEvalReport(flags.out, report);
          if (flags.run) {
            for (const [name, run] of runs)
              await writeTrecRun(
                runs.size === 1 ? flags.run : `${flags.run}.${name}`,
                [...run].map(([queryId, hits]) => ({ queryId, hits })),
                `sci-${name}`,
              );
          }
          if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          else {
            process.stdout.write(
              `${'index'.padEnd(8)} ${'Recall@10'.padStart(9)} ${'Success@10'.padStart(10)} ${'MRR@10'.padStart(7)} ${'nDCG@10'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'QPS'.padStart(6)} ${'dist/q'.padStart(8)}\n`,
            );
            const quality = (m: Record<string, number | undefined>) =>
              `${m['Recall@10']!.toFixed(4).padStart(9)} ${m['Success@10']!.toFixed(4).padStart(10)} ${m['MRR@10']!.toFixed(4).padStart(7)} ${m['nDCG@10']!.toFixed(4).padStart(7)}`;
            for (const r of reports)
              process.stdout.write(
                `${r.index.padEnd(8)} ${quality(r.metrics)} ${r.latency.p50Ms.toFixed(2).padStart(7)} ${r.latency.p99Ms.toFixed(2).padStart(7)} ${r.latency.qps.toFixed(0).padStart(6)} ${r.perQuery.ndis.toFixed(0).padStart(8)}\n`,
              );
            if (report.hybrid)
              process.stdout.write(
                `${'hybrid'.padEnd(8)} ${quality(report.hybrid.metrics)}   (${report.hybrid.dense} + ${report.hybrid.lexical}, reciprocal rank fusion)\n`,
              );
            process.stdout.write(`report: ${paths.html}\n`);
          }
        } finally {
          service.close();
        }
      } finally {
        await closeBounded(cluster);
      }
    });
}
