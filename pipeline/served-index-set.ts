import type { NatsConnection } from 'nats';
import type { Logger } from '../common/index.js';
import { SearchService, ShardServer } from '../search/index.js';
import type { Storage } from '../storage/index.js';
import type { EncoderSettings } from '../encoder/index.js';

export interface ServeOptions {
  nc: NatsConnection;
  storage: Storage;
  indexSet: string;
  logger: Logger;
  /** Largest k a search may ask for. */
  maxK: number;
  /** How the query encoder is opened (config workers.encoder); defaults when absent. */
  encoderSettings?: EncoderSettings | undefined;
}

/**
 * Runs `use` against an index set served from this process: shard servers on the cluster's NATS and a
 * scatter-gather search service over them, both stopped afterwards, however `use` ends.
 */
export async function withServedIndexSet<T>(options: ServeOptions, use: (service: SearchService) => Promise<T>): Promise<T> {
  const { nc, storage, indexSet, logger } = options;
  const server = new ShardServer({ nc, storage, indexSet, logger: logger.child({ component: 'shard-server' }) });
  await server.start();
  try {
    const service = await SearchService.open({
      nc,
      storage,
      indexSet,
      logger,
      deadlineMs: 60_000,
      limits: { maxK: options.maxK, maxQueries: 256 },
      ...(options.encoderSettings ? { encoderSettings: options.encoderSettings } : {}),
    });
    try {
      return await use(service);
    } finally {
      service.close();
    }
  } finally {
    await server.stop();
  }
}
