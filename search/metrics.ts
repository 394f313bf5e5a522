import { Counter, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS } from '../common/index.js';
import type { SearchResponse } from './router.js';

/*
 * Search series. A shard server: its requests by op and outcome (answered,
 * expired, refused) with their service time. A router (the API, sci search):
 * each search's phases — encode (query tower), shard (each shard's answer
 * time as the router saw it), merge, passages (fetching hit text) and total —
 * and partial answers by why a shard was missing.
 */

export class ShardServerMetrics {
  readonly seconds: Histogram<'index' | 'op'>;
  readonly requests: Counter<'op' | 'outcome'>;
  readonly refused: Counter<'code'>;

  constructor(registry: Registry) {
    this.seconds = new Histogram({
      name: 'sci_shard_request_duration_seconds',
      help: 'Time a shard server spent answering a request, by index and op',
      labelNames: ['index', 'op'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'sci_shard_requests_total',
      help: 'Requests a shard server received, by op and outcome (answered, expired: dropped past their deadline, refused)',
      labelNames: ['op', 'outcome'],
      registers: [registry],
    });
    this.refused = new Counter({ name: 'sci_shard_refused_total', help: 'Requests refused, by error code', labelNames: ['code'], registers: [registry] });
  }
}

export type SearchPhase = 'encode' | 'shard' | 'merge' | 'passages' | 'total';

export class SearchMetrics {
  readonly seconds: Histogram<'index' | 'phase'>;
  readonly partial: Counter<'index' | 'reason'>;
  readonly searches: Counter<'index' | 'outcome'>;

  constructor(registry: Registry) {
    this.seconds = new Histogram({
      name: 'sci_search_duration_seconds',
      help: 'Scatter-gather search time by index and phase (encode, shard, merge, passages, total)',
      labelNames: ['index', 'phase'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.partial = new Counter({
      name: 'sci_search_missing_shards_total',
      help: 'Shards missing from an answer, by index and reason (timeout, no_server, overloaded, failed, no_statistics, no_passages)',
      labelNames: ['index', 'reason'],
      registers: [registry],
    });
    this.searches = new Counter({
      name: 'sci_searches_total',
      help: 'Searches by index and outcome (complete, partial, refused, cancelled, failed)',
      labelNames: ['index', 'outcome'],
      registers: [registry],
    });
  }

  /** One answered search: its phases, and each missing shard by reason. */
  answered(index: string, response: SearchResponse, phases: Partial<Record<SearchPhase, number>>): void {
    for (const [phase, ms] of Object.entries(phases)) if (ms !== undefined) this.seconds.observe({ index, phase }, ms / 1000);
    for (const ms of Object.values(response.shardMs)) this.seconds.observe({ index, phase: 'shard' }, ms / 1000);
    for (const missing of response.missingShards) this.partial.inc({ index, reason: missingReason(missing.reason) });
    this.searches.inc({ index, outcome: response.partial ? 'partial' : 'complete' });
  }
}

/** The reason category of a router's missing-shard text (search/router.ts words them). */
export function missingReason(reason: string): string {
  if (reason.startsWith('no passage text')) return 'no_passages';
  if (reason.startsWith('no BM25 statistics')) return 'no_statistics';
  if (reason.includes('no server for this shard')) return 'no_server';
  if (/no answer within/.test(reason)) return 'timeout';
  if (reason.startsWith('overloaded')) return 'overloaded';
  return 'failed';
}
