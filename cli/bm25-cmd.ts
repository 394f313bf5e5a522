import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../common/index.js';
import { buildBm25FromShards, openBm25Set, searchBm25Set } from '../bm25/index.js';
import { BeirIngester, readQueriesFile, runIngest } from '../shards/index.js';
import { evaluateRun, parseQrels, writeTrecRun, type RankedList } from '../eval/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { positiveInt } from './parse.js';
import { progressReporter } from './progress.js';

const nonNegative = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${flag} expects a number >= 0, got ${JSON.stringify(value)}`);
  return n;
};

export function bm25Command(globals: () => GlobalOptions): Command {
  const bm25 = new Command('bm25').description('BM25 per shard (Lucene scoring, English analyzer, Pyserini defaults k1=0.9 b=0.4)');
  bm25
    .command('build')
    .description('Build one BM25 index per passage shard; a BEIR folder is ingested into shards first')
    .requiredOption('--input <path>', 'shard folder (with manifest.json) or BEIR folder (corpus.jsonl)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--shards <n>', 'shards to cut a BEIR folder into', positiveInt('--shards'), 1)
    .option('--k1 <k1>', 'BM25 k1', nonNegative('--k1'), 0.9)
    .option('--b <b>', 'BM25 b', nonNegative('--b'), 0.4)
    .option('--json', 'print the build record as JSON')
    .action(async (flags: { input: string; out: string; shards: number; k1: number; b: number; json?: boolean }) => {
      const { config, logger } = commandContext(globals());
      const log = logger.child({ component: 'bm25-build' });
      if (flags.b > 1) throw new UsageError('--b must be between 0 and 1');
      let passages = flags.input;
      if (!existsSync(join(flags.input, 'manifest.json'))) {
        if (!existsSync(join(flags.input, 'corpus.jsonl'))) throw new UsageError(`${flags.input} has neither manifest.json (shards) nor corpus.jsonl (BEIR)`);
        passages = join(flags.out, 'passages');
        const { manifest } = await runIngest({
          ingester: new BeirIngester(flags.input),
          format: 'beir',
          input: flags.input,
          outDir: passages,
          layout: { shardCount: flags.shards },
          batchRows: config.ingest.batchRows,
          maxLineBytes: config.ingest.maxLineBytes,
          excerptChars: config.ingest.excerptChars,
          strict: false,
          logger: log,
        });
        log.info({ rowsWritten: manifest.rowsWritten, rowsRejected: manifest.rowsRejected }, 'ingested BEIR corpus');
      }
      const progress = progressReporter('bm25 build', log, { unit: 'shards' });
      const started = performance.now();
      const result = await buildBm25FromShards(passages, flags.out, {
        params: { k1: flags.k1, b: flags.b },
        onShard: (done, total) => progress.update(done, total),
      });
      progress.stop();
      const record = { ...result, out: flags.out, seconds: (performance.now() - started) / 1000 };
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(record, null, 2)}\n`
          : `BM25: ${record.docCount} documents in ${record.shards} shard index(es), ${record.seconds.toFixed(1)} s → ${record.manifestPath}\n`,
      );
    });

  bm25
    .command('search')
    .description('Search every shard for each query and merge; optional TREC run and evaluation against qrels')
    .requiredOption('--index <dir>', 'BM25 index folder (from bm25 build)')
    .requiredOption('--queries <file>', 'queries.jsonl ({"_id", "text"})')
    .option('--k <k>', 'results per query', positiveInt('--k'), 100)
    .addOption(new Option('--stats <kind>', 'collection statistics: corpus-wide or per shard').choices(['corpus', 'shard']).default('corpus'))
    .option('--run <file>', 'write a TREC run file')
    .option('--tag <tag>', 'run tag', 'bm25')
    .option('--qrels <file>', 'judgments (query-id corpus-id score) to report nDCG@10, MRR@10, Recall@100')
    .option('--json', 'print metrics and timing as JSON')
    .action(
      async (flags: { index: string; queries: string; k: number; stats: 'corpus' | 'shard'; run?: string; tag: string; qrels?: string; json?: boolean }) => {
        commandContext(globals());
        const set = openBm25Set(flags.index);
        const queries = readQueriesFile(flags.queries);
        const started = performance.now();
        const lists: RankedList[] = queries.map((q) => ({
          queryId: q.id,
          hits: searchBm25Set(set, q.text, flags.k, { stats: flags.stats }).map((h) => ({ docId: h.externalId, score: h.score })),
        }));
        const seconds = (performance.now() - started) / 1000;
        const report: Record<string, unknown> = { queries: queries.length, k: flags.k, stats: flags.stats, seconds, qps: queries.length / seconds };
        if (flags.run) report.runLines = await writeTrecRun(flags.run, lists, flags.tag);
        if (flags.qrels) {
          const run = new Map(lists.map((l) => [l.queryId, l.hits.map((h) => h.docId)]));
          report.metrics = evaluateRun(run, parseQrels(readFileSync(flags.qrels, 'utf8')), { ndcg: [10], mrr: [10], recall: [100] });
        }
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else
          process.stdout.write(
            `${queries.length} queries, ${(report.qps as number).toFixed(0)} QPS${
              report.metrics
                ? `, ${Object.entries(report.metrics as Record<string, number>)
                    .map(([k, v]) => `${k} ${k === 'queries' ? v : v.toFixed(4)}`)
                    .join(', ')}`
                : ''
            }${flags.run ? `, run → ${flags.run}` : ''}\n`,
          );
      },
    );
  return bm25;
}
