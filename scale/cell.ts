import { percentile } from '../eval/index.js';
import type { SearchResponse } from '../search/index.js';
import { runLoad } from './load.js';

/*
 * One cell of the scale grid: closed-loop clients sending single-query
 * searches for a while, every answer's time split by where it went. For a
 * request, the slowest shard decides: its server's search itself (work), its
 * wait on the server for a thread and the (de)coding there (queueing), the
 * rest of the time the router waited for it (network: NATS hops and
 * scheduling), the merge, and the router's own time (everything else).
 */

export interface CellConfig {
  index: string;
  shards: number;
  replicas: number;
  clients: number;
  hedged: boolean;
}

export interface TimeSplit {
  workMs: number;
  queueingMs: number;
  networkMs: number;
  mergeMs: number;
  routerMs: number;
}

export interface CellResult extends CellConfig {
  requests: number;
  seconds: number;
  qps: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Mean of each part of a request's time (they sum to the mean latency). */
  split: TimeSplit;
  /** Scatter-gather's own time over the slowest shard's service time, p50 (ms). */
  overheadP50Ms: number;
  partial: number;
  hedges: { sent: number; won: number };
  /** Per-shard answer times as the router saw them, and the router's own time per request: the tail model's input. */
  samples: { shardMs: number[]; routerMs: number[]; mergeMs: number[] };
}

/** Runs `clients` loops of `search` for `seconds` (after `warmup` requests each) and splits every answer's time. */
export async function measureCell(
  config: CellConfig,
  search: (client: number, i: number) => Promise<SearchResponse>,
  options: { seconds: number; warmup?: number; hedges?: () => { sent: number; won: number } },
): Promise<CellResult> {
  for (let c = 0; c < config.clients; c++) for (let i = 0; i < (options.warmup ?? 5); i++) await search(c, -1 - i);
  const before = options.hedges?.() ?? { sent: 0, won: 0 };
  const overheads: number[] = [];
  const sum: TimeSplit = { workMs: 0, queueingMs: 0, networkMs: 0, mergeMs: 0, routerMs: 0 };
  const samples: CellResult['samples'] = { shardMs: [], routerMs: [], mergeMs: [] };
  let partial = 0;
  const load = await runLoad('cell', { clients: config.clients, seconds: options.seconds }, search, (response, total) => {
    if (response.partial) partial += 1;
    const shards = Object.keys(response.shardMs).map(Number);
    if (shards.length === 0) return;
    const slowest = shards.reduce((a, b) => (response.shardMs[b]! > response.shardMs[a]! ? b : a));
    const waited = response.shardMs[slowest]!;
    const service = response.serviceMs[slowest]!;
    const work = Math.min(response.workMs[slowest] ?? service, service);
    sum.workMs += work;
    sum.queueingMs += service - work;
    sum.networkMs += waited - service;
    sum.mergeMs += response.mergeMs;
    sum.routerMs += total - waited - response.mergeMs;
    overheads.push(total - Math.max(...shards.map((s) => response.serviceMs[s]!)));
    for (const s of shards) samples.shardMs.push(response.shardMs[s]!);
    samples.routerMs.push(total - waited - response.mergeMs);
    samples.mergeMs.push(response.mergeMs);
  });
  // A cell measures answers: one failed request makes it meaningless.
  if (load.errors > 0) throw new Error(`${load.errors} of ${load.requests + load.errors} searches failed: ${load.firstError}`);
  const after = options.hedges?.() ?? { sent: 0, won: 0 };
  overheads.sort((a, b) => a - b);
  const n = Math.max(1, load.requests);
  return {
    ...config,
    requests: load.requests,
    seconds: load.seconds,
    qps: load.qps,
    meanMs: load.meanMs,
    p50Ms: load.p50Ms,
    p95Ms: load.p95Ms,
    p99Ms: load.p99Ms,
    split: {
      workMs: sum.workMs / n,
      queueingMs: sum.queueingMs / n,
      networkMs: sum.networkMs / n,
      mergeMs: sum.mergeMs / n,
      routerMs: sum.routerMs / n,
    },
    overheadP50Ms: percentile(overheads, 50),
    partial,
    hedges: { sent: after.sent - before.sent, won: after.won - before.won },
    samples,
  };
}
