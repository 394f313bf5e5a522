import type { NatsConnection } from 'nats';
import pino from 'pino';
import { connectNats, NatsServerProcess } from '../../messaging/index.js';
import { SearchService, ShardServer, type ServingLayout } from '../../search/index.js';
import type { Storage } from '../../storage/index.js';

const silent = pino({ level: 'silent' });

/**
 * A private nats-server on loopback with in-process shard servers and search services over it, as two
 * `sci serve` processes would run them; one `t.after` hook stops everything in order (services, shard
 * servers, the connection, then nats-server with its store).
 */
export class LoopbackSearch {
  private readonly servers: ShardServer[] = [];
  private readonly services: SearchService[] = [];

  private constructor(
    readonly nc: NatsConnection,
    private readonly nats: NatsServerProcess,
  ) {}

  static async start(t: { after: (fn: () => Promise<void>) => void }, name: string, options: { maxPayloadBytes?: number } = {}): Promise<LoopbackSearch> {
    const nats = await NatsServerProcess.start(options);
    const search = new LoopbackSearch(await connectNats({ servers: [nats.url], name }), nats);
    t.after(() => search.stop());
    return search;
  }

  /** Serves `indexSet`'s shards split between two servers (even and odd shard ids) and opens a search service over them. */
  async serve(
    storage: Storage,
    indexSet: string,
    shardCount: number,
    options: { deadlineMs?: number; maxK?: number; maxInFlight?: number } = {},
  ): Promise<SearchService> {
    const all = Array.from({ length: shardCount }, (_, i) => i);
    for (const part of [all.filter((s) => s % 2 === 0), all.filter((s) => s % 2 === 1)]) {
      const server = new ShardServer({
        nc: this.nc,
        storage,
        indexSet,
        shards: part,
        logger: silent,
        ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
      });
      await server.start();
      this.servers.push(server);
    }
    return this.open(storage, indexSet, { ...options, layout: 'shards' });
  }

  /** Serves `indexSet`'s routed partitions (each by its own server) and opens a routed search service over them. */
  async serveRouted(storage: Storage, indexSet: string, partitions: number, options: { deadlineMs?: number } = {}): Promise<SearchService> {
    for (let p = 0; p < partitions; p++) {
      const server = new ShardServer({ nc: this.nc, storage, indexSet, shards: [p], layout: 'routed', logger: silent });
      await server.start();
      this.servers.push(server);
    }
    return this.open(storage, indexSet, { ...options, layout: 'routed' });
  }

  private async open(storage: Storage, indexSet: string, options: { deadlineMs?: number; maxK?: number; layout: ServingLayout }): Promise<SearchService> {
    const service = await SearchService.open({
      nc: this.nc,
      storage,
      indexSet,
      logger: silent,
      layout: options.layout,
      deadlineMs: options.deadlineMs ?? 60_000,
      limits: { maxK: options.maxK ?? 1000, maxQueries: 256 },
    });
    this.services.push(service);
    return service;
  }

  private async stop(): Promise<void> {
    for (const service of this.services) service.close();
    for (const server of this.servers) await server.stop();
    await this.nc.close();
    await this.nats.stop({ clean: true });
  }
}
