import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../config/index.js';
import { processRegistry, UsageError } from '../common/index.js';
import { DEFAULT_MAX_IN_FLIGHT, ShardServer, SearchService, type ServingLayout } from '../search/index.js';
import { layoutOption, positiveInt } from './parse.js';
import { Admission, ApiMetrics, startRestServer, startGrpcServer } from '../api/index.js';
import { processMetrics } from './metrics-endpoint.js';
import { commandContext, type GlobalOptions } from './context.js';
import { exitOnConnectionLoss, openServing, storageKeyOf } from './cluster-context.js';
import { closeBounded, onShutdown } from './processes-cmd.js';

/** "0,2,5-7" → [0, 2, 5, 6, 7]. */
export function parseShardList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`--shards expects numbers and ranges like 0,2,5-7, got ${JSON.stringify(text)}`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let s = from; s <= to; s++) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/** A PEM file of api.tls; a missing one is a config error naming the field. */
function readTlsFile(path: string, field: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([`${field}: cannot read ${path}: ${(err as Error).message}`], { file: path, cause: err });
  }
}

export function serveCommand(globals: () => GlobalOptions): Command {
  const serve = new Command('serve').description('Serve search: shard servers (answer per-shard requests) and the query API (REST + gRPC)');
  serve
    .command('shards')
    .description('Load shards of an index set and answer their search requests over NATS (start several for replicas)')
    .requiredOption('--index-set <dir>', 'index set (output of an index job)')
    .option('--shards <list>', 'shards (or partitions, groups) to serve, e.g. 0-3 or 0,2 (default: all)', parseShardList)
    .addOption(layoutOption('what to serve'))
    .option(
      '--max-in-flight <n>',
      `requests worked on at once; more are answered RESOURCE_EXHAUSTED (default ${DEFAULT_MAX_IN_FLIGHT})`,
      positiveInt('--max-in-flight'),
    )
    .action(async (flags: { indexSet: string; shards?: number[]; layout: ServingLayout; maxInFlight?: number }) => {
      const { config, logger } = commandContext(globals());
      const cluster = exitOnConnectionLoss(await openServing(config, `sci-shards-${process.pid}`, 'shard-server', undefined, logger));
      const metrics = await processMetrics(config, 'shard-server', logger);
      const server = new ShardServer({
        metrics: metrics.registry,
        nc: cluster.nc,
        storage: cluster.storage,
        indexSet: storageKeyOf(config, flags.indexSet),
        logger: logger.child({ component: 'shard-server' }),
        ...(flags.shards ? { shards: flags.shards } : {}),
        ...(flags.maxInFlight ? { maxInFlight: flags.maxInFlight } : {}),
        layout: flags.layout,
      });
      await server.start();
      process.stdout.write(`serving ${flags.layout} ${server.servedShards.join(',')} of ${storageKeyOf(config, flags.indexSet)}\n`);
      await onShutdown(async () => {
        await server.stop();
        await metrics.endpoint?.close();
        await closeBounded(cluster);
      });
      process.exit(0);
    });
  serve
    .command('api')
    .description('The query API: REST/JSON (api.port) and gRPC (api.grpcPort) over scatter-gather search of one index set')
    .requiredOption('--index-set <dir>', 'index set to search')
    .option('--port <port>', 'REST port (default api.port)', (v) => Number(v))
    .option('--grpc-port <port>', 'gRPC port (default api.grpcPort)', (v) => Number(v))
    .addOption(layoutOption('what serves the set'))
    .action(async (flags: { indexSet: string; port?: number; grpcPort?: number; layout: ServingLayout }) => {
      const overrides = {
        ...(flags.port !== undefined ? { 'api.port': flags.port } : {}),
        ...(flags.grpcPort !== undefined ? { 'api.grpcPort': flags.grpcPort } : {}),
      };
      const { config, logger } = commandContext(globals(), overrides);
      const log = logger.child({ component: 'api' });
      const cluster = exitOnConnectionLoss(
        await openServing(
          config,
          `sci-api-${process.pid}`,
          'api',
          (err) => log.warn({ err }, 'no job state in NATS (no coordinator has run): serving search without the job endpoints'),
          log,
        ),
      );
      // The API's series (requests, search phases, process) are served on its REST port at /metrics.
      const registry = processRegistry('api');
      const search = await SearchService.open({
        nc: cluster.nc,
        storage: cluster.storage,
        indexSet: storageKeyOf(config, flags.indexSet),
        logger: log,
        deadlineMs: config.api.deadlineMs,
        limits: { maxK: config.api.maxK, maxQueries: config.api.maxQueries },
        metrics: registry,
        hedge: config.api.hedge,
        layout: flags.layout,
        // The API's event loop answers health checks, SSE and gRPC: a model's forward pass runs on its own thread.
        encodeOnThread: true,
        encoderSettings: config.workers.encoder,
      });
      const ctx = {
        search,
        state: cluster.state,
        admission: new Admission(config.api.admission),
        privateLocations: [...cluster.storage.localRoots, resolve(config.storage.root)],
      };
      const tls = config.api.tls
        ? { cert: readTlsFile(config.api.tls.certFile, 'api.tls.certFile'), key: readTlsFile(config.api.tls.keyFile, 'api.tls.keyFile') }
        : null;
      const common = {
        tls,
        host: config.api.host,
        token: config.api.token,
        maxRequestBytes: config.api.maxRequestBytes,
        logger: log,
        metrics: new ApiMetrics(registry),
      };
      const rest = await startRestServer(ctx, { ...common, port: config.api.port, reports: config.api.reports ? resolve(config.api.reports) : null });
      const grpc = await startGrpcServer(ctx, { ...common, port: config.api.grpcPort });
      process.stdout.write(`${JSON.stringify({ rest: rest.url, grpc: grpc.address, auth: config.api.token !== null, pid: process.pid })}\n`);
      await onShutdown(async () => {
        await rest.close();
        await grpc.close();
        search.close();
        await closeBounded(cluster);
      });
      process.exit(0);
    });
  return serve;
}
