import type { Logger } from '../common/index.js';
import { runPipeline, type PipelineCluster, type PipelineHooks, type PipelineState } from '../pipeline/index.js';
import type { WordnetSplit } from '../shards/index.js';
import type { GridCell } from './config.js';

/*
 * Runs a grid: seed by seed, cell by cell, each cell a resumable pipeline (a
 * finished cell's steps are skipped, so running the same command again goes
 * on where it stopped). Seed-major order makes one whole seed of every cell
 * available first.
 */

export interface RunGridOptions {
  cells: readonly GridCell[];
  seeds: readonly number[];
  cluster: PipelineCluster;
  logger: Logger;
  hooks?: (cell: GridCell, seed: number) => PipelineHooks;
  signal?: AbortSignal;
  wordnetSplit?: WordnetSplit;
  /** Only cells whose name matches. */
  only?: RegExp;
  /** In every cell run: forget this step and every later one (e.g. stage1.analysis after the analysis changed). */
  redoFrom?: string;
}

export async function runGrid(options: RunGridOptions): Promise<Array<{ cell: GridCell; seed: number; state: PipelineState }>> {
  const done: Array<{ cell: GridCell; seed: number; state: PipelineState }> = [];
  for (const seed of options.seeds)
    for (const cell of options.cells) {
      if (options.only && !options.only.test(cell.name)) continue;
      options.logger.info({ cell: cell.name, seed }, 'grid cell');
      const state = await runPipeline({
        config: cell.config,
        seed,
        cluster: options.cluster,
        logger: options.logger.child({ cell: cell.name }),
        ...(options.hooks ? { hooks: options.hooks(cell, seed) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.wordnetSplit ? { wordnetSplit: options.wordnetSplit } : {}),
        ...(options.redoFrom ? { redoFrom: options.redoFrom } : {}),
      });
      done.push({ cell, seed, state });
    }
  return done;
}
