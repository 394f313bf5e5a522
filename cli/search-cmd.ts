import { Command } from 'commander';
import { SearchService, type ServingLayout } from '../search/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { openServing, storageKeyOf } from './cluster-context.js';
import { closeBounded } from './processes-cmd.js';
import { layoutOption, positiveInt } from './parse.js';

/** `sci search`: ad-hoc queries through scatter-gather (shard servers must be running). */
export function searchCommand(globals: () => GlobalOptions): Command {
  return new Command('search')
    .description('Search a served index set through scatter-gather and print the merged top-k')
    .requiredOption('--index-set <dir>', 'index set served by shard servers')
    .requiredOption('--index <name>', 'index name (flat, hnsw, ivf, …, bm25)')
    .argument('<query...>', 'query text(s); each argument is one query')
    .option('--k <k>', 'results per query', positiveInt('--k'), 10)
    .option('--nprobe <n>', 'IVF lists to scan', positiveInt('--nprobe'))
    .option('--ef-search <n>', 'HNSW efSearch', positiveInt('--ef-search'))
    .option('--hybrid', 'fuse with BM25 (reciprocal rank fusion)')
    .option('--deadline-ms <ms>', 'scatter-gather deadline', positiveInt('--deadline-ms'))
    .option('--no-text', "print ids and scores only (by default each hit's title and text, read from its shard)")
    .addOption(layoutOption('what serves the set'))
    .option('--json', 'print the response as JSON')
    .action(
      async (
        queries: string[],
        flags: {
          indexSet: string;
          index: string;
          k: number;
          nprobe?: number;
          efSearch?: number;
          hybrid?: boolean;
          deadlineMs?: number;
          text: boolean;
          layout: ServingLayout;
          json?: boolean;
        },
      ) => {
        const { config, logger } = commandContext(globals());
        const cluster = await openServing(config, `sci-search-${process.pid}`, 'cli');
        try {
          const service = await SearchService.open({
            nc: cluster.nc,
            storage: cluster.storage,
            indexSet: storageKeyOf(config, flags.indexSet),
            logger: logger.child({ component: 'search' }),
            deadlineMs: flags.deadlineMs ?? config.api.deadlineMs,
            limits: { maxK: config.api.maxK, maxQueries: config.api.maxQueries },
            layout: flags.layout,
            encoderSettings: config.workers.encoder,
          });
          try {
            const response = await service.search({
              index: flags.index,
              queries,
              k: flags.k,
              ...(flags.nprobe ? { nprobe: flags.nprobe } : {}),
              ...(flags.efSearch ? { efSearch: flags.efSearch } : {}),
              ...(flags.hybrid ? { hybrid: { bm25Weight: 1, denseWeight: 1 } } : {}),
              ...(flags.text ? { fields: ['title', 'text'] as const } : {}),
            });
            if (flags.json) {
              process.stdout.write(`${JSON.stringify(response, null, 2)}\n`);
              return;
            }
            response.hits.forEach((hits, q) => {
              process.stdout.write(`${queries[q]}\n`);
              hits.forEach((h, r) => {
                process.stdout.write(
                  `  ${String(r + 1).padStart(3)}. ${h.externalId.padEnd(16)} ${h.score.toFixed(4)}  (row ${h.rowId}, ${flags.layout === 'shards' ? 'shard' : flags.layout === 'routed' ? 'partition' : 'group'} ${h.shard})\n`,
                );
                if (h.title !== undefined || h.text !== undefined) process.stdout.write(`       ${passageLine(h.title ?? '', h.text ?? '')}\n`);
              });
            });
            const missing = response.missingShards.map((m) => `shard ${m.shard} (${m.reason})`).join(', ');
            const partial = response.partial ? `; PARTIAL: missing ${missing}` : missing ? `; ${missing}` : '';
            process.stdout.write(`${response.ms.toFixed(1)} ms, ${response.counters.ndis} distances${partial}\n`);
          } finally {
            service.close();
          }
        } finally {
          await closeBounded(cluster);
        }
      },
    );
}

/** One line of a passage for a terminal: "title — text", cut at a word near 150 characters. */
export function passageLine(title: string, text: string, width = 150): string {
  const line = (title && text ? `${title} — ${text}` : title || text).replace(/\s+/g, ' ').trim();
  if (line.length <= width) return line;
  const cut = line.lastIndexOf(' ', width - 1);
  return `${line.slice(0, cut > width / 2 ? cut : width - 1)}…`;
}
