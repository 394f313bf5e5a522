import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { UsageError } from '../common/index.js';
import { FaissIndex, setFaissThreads, type Metric, type SearchParams } from '../faiss/index.js';
import { readIvecs, readVectors } from '../vectors/index.js';
import { annRecallAtK, writeTrecRun, type RankedList } from '../eval/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { positiveInt } from './parse.js';

const SEARCH_PARAMS = new Set(['nprobe', 'efSearch']);

function parseParam(value: string, previous: Record<string, number> = {}): Record<string, number> {
  const match = /^(\w+)=(\d+)$/.exec(value);
  if (!match || !SEARCH_PARAMS.has(match[1]!) || Number(match[2]) <= 0)
    throw new UsageError(`--param expects nprobe=N or efSearch=N with N > 0, got ${JSON.stringify(value)}`);
  return { ...previous, [match[1]!]: Number(match[2]) };
}

export function indexCommand(globals: () => GlobalOptions): Command {
  const index = new Command('index').description('Build and search Faiss indexes (Flat, IVF, IVF-PQ, HNSW, PQ, LSH)');
  index
    .command('build')
    .description('Build an index from .fvecs, .npy or Arrow embedding files and write it in faiss format')
    .requiredOption('--factory <spec>', 'Flat | IVF{n},Flat | IVF{n},PQ{m} | HNSW{M},Flat | PQ{m} | LSH[{nbits}]')
    .addOption(new Option('--metric <metric>', 'similarity').choices(['ip', 'l2']).default('ip'))
    .requiredOption('--vectors <file>', 'vectors to index (.fvecs, .npy, .arrow)')
    .option('--column <name>', 'Arrow column holding the vectors (default: the first FixedSizeList column)')
    .option('--train-sample <n>', 'train on the first N vectors only', positiveInt('--train-sample'))
    .option('--ef-search <n>', 'HNSW efSearch stored in the index (used when a search passes none)', positiveInt('--ef-search'))
    .option('--threads <n>', 'faiss threads', positiveInt('--threads'))
    .requiredOption('--out <file>', 'index file to write')
    .option('--json', 'print the build record as JSON')
    .action(
      async (flags: {
        factory: string;
        metric: Metric;
        vectors: string;
        column?: string;
        trainSample?: number;
        efSearch?: number;
        threads?: number;
        out: string;
        json?: boolean;
      }) => {
        const { logger } = commandContext(globals());
        const log = logger.child({ component: 'index-build' });
        if (flags.threads) setFaissThreads(flags.threads);
        const vectors = readVectors(flags.vectors, flags.column ? { column: flags.column } : {});
        const built = FaissIndex.create({ dim: vectors.dim, factory: flags.factory, metric: flags.metric });
        const t0 = performance.now();
        if (!built.info.isTrained) {
          const sample = flags.trainSample ? vectors.data.subarray(0, Math.min(flags.trainSample, vectors.count) * vectors.dim) : vectors.data;
          log.info({ vectors: sample.length / vectors.dim }, 'training');
          await built.train(sample);
        }
        const t1 = performance.now();
        await built.add(vectors.data, vectors.ids);
        const t2 = performance.now();
        if (flags.efSearch) built.setDefaultEfSearch(flags.efSearch);
        await built.save(flags.out);
        const info = built.info;
        const record = {
          path: flags.out,
          factory: flags.factory,
          metric: flags.metric,
          kind: info.kind,
          dim: info.d,
          ntotal: info.ntotal,
          memoryBytes: built.memoryBytes(),
          trainSeconds: (t1 - t0) / 1000,
          addSeconds: (t2 - t1) / 1000,
        };
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(record, null, 2)}\n`
            : `built ${record.kind} index: ${record.ntotal} × ${record.dim}, ${(record.memoryBytes / 2 ** 20).toFixed(1)} MiB, train ${record.trainSeconds.toFixed(2)} s, add ${record.addSeconds.toFixed(2)} s → ${record.path}\n`,
        );
      },
    );

  index
    .command('search')
    .description('Search an index with a batch of query vectors; counters, recall against ground truth, TREC run')
    .requiredOption('--index <file>', 'faiss index file')
    .requiredOption('--queries <file>', 'query vectors (.fvecs, .npy, .arrow)')
    .option('--k <k>', 'results per query', positiveInt('--k'), 10)
    .option('--param <name=value>', 'nprobe=N or efSearch=N (repeatable)', parseParam)
    .option('--ground-truth <file>', 'exact neighbours (.ivecs) to report recall@k')
    .option('--query-ids <file>', 'one query id per line for the run file (default 1, 2, …)')
    .option('--run <file>', 'write a TREC run file (qid Q0 docid rank score tag)')
    .option('--tag <tag>', 'run tag', 'sci')
    .option('--threads <n>', 'faiss threads', positiveInt('--threads'))
    .option('--json', 'print results, counters and timing as JSON')
    .action(
      async (flags: {
        index: string;
        queries: string;
        k: number;
        param?: SearchParams;
        groundTruth?: string;
        queryIds?: string;
        run?: string;
        tag: string;
        threads?: number;
        json?: boolean;
      }) => {
        commandContext(globals());
        if (flags.threads) setFaissThreads(flags.threads);
        const loaded = await FaissIndex.load(flags.index);
        const queries = readVectors(flags.queries);
        const started = performance.now();
        const result = await loaded.search(queries.data, flags.k, flags.param ?? {});
        const seconds = (performance.now() - started) / 1000;
        const ntotal = loaded.size;
        const summary: Record<string, unknown> = {
          index: flags.index,
          kind: loaded.info.kind,
          nq: result.nq,
          k: flags.k,
          params: flags.param ?? {},
          seconds,
          qps: result.nq / seconds,
          counters: result.counters,
          perQuery: { ndis: result.counters.ndis / result.nq, nhops: result.counters.nhops / result.nq, nlist: result.counters.nlist / result.nq },
          touchRate: ntotal === 0 ? 0 : result.counters.ndis / result.nq / ntotal,
        };
        if (flags.groundTruth) {
          const gt = readIvecs(flags.groundTruth);
          if (gt.count !== result.nq) throw new UsageError(`ground truth has ${gt.count} rows for ${result.nq} queries`);
          summary[`recall@${flags.k}`] = annRecallAtK(result.labels, gt.data, gt.dim, result.nq, Math.min(flags.k, gt.dim), flags.k);
        }
        const queryIds = flags.queryIds
          ? readFileSync(flags.queryIds, 'utf8')
              .split('\n')
              .map((l) => l.trim())
              .filter((l) => l !== '')
          : null;
        if (queryIds && queryIds.length !== result.nq) throw new UsageError(`${queryIds.length} query ids for ${result.nq} queries`);
        const lists: RankedList[] = [];
        for (let q = 0; q < result.nq; q++) {
          const hits = [];
          for (let j = 0; j < flags.k; j++) {
            const label = result.labels[q * flags.k + j]!;
            if (label >= 0n) hits.push({ docId: String(label), score: result.distances[q * flags.k + j]! * (result.higherIsBetter ? 1 : -1) });
          }
          lists.push({ queryId: queryIds?.[q] ?? String(q + 1), hits });
        }
        if (flags.run) summary.runLines = await writeTrecRun(flags.run, lists, flags.tag);
        if (flags.json) process.stdout.write(`${JSON.stringify({ ...summary, results: lists }, null, 2)}\n`);
        else {
          const recall = Object.entries(summary).find(([key]) => key.startsWith('recall@'));
          process.stdout.write(
            `${result.nq} queries, k=${flags.k}, ${JSON.stringify(summary.params)}: ${(result.nq / seconds).toFixed(0)} QPS, ${(summary.perQuery as { ndis: number }).ndis.toFixed(0)} distances/query (touch rate ${((summary.touchRate as number) * 100).toFixed(2)}%)` +
              `${recall ? `, ${recall[0]} ${(recall[1] as number).toFixed(4)}` : ''}${flags.run ? `, run → ${flags.run}` : ''}\n`,
          );
        }
      },
    );
  return index;
}
