export { ShardServer, DEFAULT_MAX_IN_FLIGHT, type ShardServerOptions } from './shard-server.js';
export { SearchRouter, type SearchResponse, type DenseSearchOptions } from './router.js';
export { SearchService, type SearchRequest, type SearchLimits } from './service.js';
export { openIndexSet, type IndexSet, type IndexSetManifest } from './index-set.js';
export { mergeTopK, reciprocalRankFusion, type Hit } from './merge.js';
export { SearchOverloadedError, SearchRequestError, SearchUnavailableError } from './errors.js';
export {
  indexSetId,
  shardSubject,
  servingSubject,
  SERVING_LAYOUTS,
  type ServingLayout,
  hedgeSubject,
  HEDGE_SUBJECTS,
  PROTOCOL_LIMITS,
  PROTOCOL_VERSION,
  SHARD_QUEUE_GROUP,
  SERVERS_SUBJECT,
  type ShardServerInfo,
} from './protocol.js';
export type { ShardServerCounters } from './shard-server.js';
export { readEmbeddingIds } from './embedding-ids.js';
export { DEFAULT_HEDGE_POLICY, type HedgePolicy, type HedgeCounters } from './hedging.js';
export { loadRouting, type Routing, type RoutedIndex } from './routing.js';
