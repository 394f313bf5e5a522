import { percentile } from '../eval/index.js';
import type { SearchService } from '../search/index.js';
import { fitLine, simulateTail, type TailModel, type TailPrediction } from './tail-simulator.js';
import { measureCell, type CellResult } from './cell.js';

/*
 * The scale harness: a grid of shard counts × replicas × client counts ×
 * index types, each cell measured on served shards (measureCell), then the
 * tail-at-scale simulator checked against every measured cell and run out to
 * 1,024 shards. Serving is the caller's: `serve(shards, replicas)` starts
 * servers for an index set of that many shards and returns a search service
 * (hedging on where there are replicas), so the bench can spawn processes
 * and a test can serve in-process.
 */

export interface ScaleGridOptions {
  shards: number[];
  replicas: number[];
  clients: number[];
  indexes: Array<{ name: string; params?: { nprobe?: number; efSearch?: number } }>;
  seconds: number;
  /** Query vectors, row-major; clients take them in turn. */
  queries: Float32Array;
  dim: number;
  k: number;
  serve: (shards: number, replicas: number) => Promise<{ service: SearchService; hedged: boolean; stop: () => Promise<void> }>;
  onCell?: (cell: CellResult) => void;
}

/** Measured cells with their tail models' inputs kept aside (the report keeps summaries only). */
export interface ScaleGridRun {
  cells: CellResult[];
}

export async function runScaleGrid(options: ScaleGridOptions): Promise<ScaleGridRun> {
  const cells: CellResult[] = [];
  const nq = options.queries.length / options.dim;
  for (const shards of options.shards) {
    for (const replicas of options.replicas) {
      const served = await options.serve(shards, replicas);
      try {
        for (const index of options.indexes) {
          for (const clients of options.clients) {
            const config = { index: index.name, shards, replicas, clients, hedged: served.hedged };
            const cell = await measureCell(
              config,
              (client, i) => {
                const q = (((client * 7919 + i) % nq) + nq) % nq;
                return served.service.search({
                  index: index.name,
                  vectors: options.queries.subarray(q * options.dim, (q + 1) * options.dim),
                  k: options.k,
                  ...index.params,
                });
              },
              { seconds: options.seconds, hedges: () => ({ ...served.service.router.hedges }) },
            );
            cells.push(cell);
            options.onCell?.(cell);
          }
        }
      } finally {
        await served.stop();
      }
    }
  }
  return { cells };
}

export interface ValidationRow {
  index: string;
  shards: number;
  replicas: number;
  hedged: boolean;
  measured: { p50Ms: number; p99Ms: number };
  predicted: { p50Ms: number; p99Ms: number };
  /** (predicted − measured) / measured. */
  error: { p50: number; p99: number };
}

export interface Extrapolation {
  index: string;
  /** The measured cell whose per-shard times drive the model (the most shards, one client). */
  from: { shards: number; replicas: number };
  hedgeDelayMs: number;
  points: Array<{ shards: number; plain: TailPrediction; hedged: TailPrediction }>;
}

const p95 = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    95,
  );

/** The model of one measured cell: its per-shard and router samples, its merge as measured. */
function modelOf(cell: CellResult, merge: TailModel['merge']): TailModel {
  return { shardMs: cell.samples.shardMs, routerMs: cell.samples.routerMs, merge };
}

/**
 * Checks the simulator against every one-client cell: the model takes the per-shard times of the
 * unhedged cell with the same shards (a hedged cell is predicted from them), so what it tests is the
 * fan-out and hedging arithmetic and the independence of shards it assumes. Then runs it out to
 * `extrapolate` shards from each index's largest unhedged cell.
 */
export function simulateGrid(
  run: ScaleGridRun,
  extrapolate: number[] = [16, 64, 128, 256, 512, 1024],
): { validation: ValidationRow[]; extrapolations: Extrapolation[] } {
  const validation: ValidationRow[] = [];
  const single = run.cells.filter((c) => c.clients === 1 && c.samples.shardMs.length > 0);
  for (const cell of single) {
    // A hedged cell is predicted from the unhedged one beside it (its answers were already cut short by the hedges).
    const source = single.find((c) => c.index === cell.index && c.shards === cell.shards && !c.hedged) ?? cell;
    const mean = source.samples.mergeMs.reduce((a, b) => a + b, 0) / Math.max(1, source.samples.mergeMs.length);
    const prediction = simulateTail(modelOf(source, { baseMs: mean, perShardMs: 0 }), {
      shards: cell.shards,
      hedgeDelayMs: cell.hedged ? p95(source.samples.shardMs) : null,
      seed: cell.shards,
    });
    validation.push({
      index: cell.index,
      shards: cell.shards,
      replicas: cell.replicas,
      hedged: cell.hedged,
      measured: { p50Ms: cell.p50Ms, p99Ms: cell.p99Ms },
      predicted: { p50Ms: prediction.p50Ms, p99Ms: prediction.p99Ms },
      error: { p50: (prediction.p50Ms - cell.p50Ms) / cell.p50Ms, p99: (prediction.p99Ms - cell.p99Ms) / cell.p99Ms },
    });
  }
  const extrapolations: Extrapolation[] = [];
  for (const index of [...new Set(single.map((c) => c.index))]) {
    const cells = single.filter((c) => c.index === index && !c.hedged);
    if (cells.length === 0) continue;
    const source = cells.reduce((a, b) => (b.shards > a.shards ? b : a));
    // The merge grows with the lists merged: a line over the measured shard counts.
    const merge = fitLine(cells.flatMap((c) => c.samples.mergeMs.map((m) => [c.shards, m] as [number, number])));
    const model = modelOf(source, merge);
    const hedgeDelayMs = p95(source.samples.shardMs);
    extrapolations.push({
      index,
      from: { shards: source.shards, replicas: source.replicas },
      hedgeDelayMs,
      points: extrapolate.map((shards) => ({
        shards,
        plain: simulateTail(model, { shards, hedgeDelayMs: null, seed: shards }),
        hedged: simulateTail(model, { shards, hedgeDelayMs, seed: shards }),
      })),
    });
  }
  return { validation, extrapolations };
}
