import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { EncoderSettings } from '../encoder/index.js';
import { acceptedFingerprints, planPipeline, readPipelineState } from '../pipeline/index.js';
import { ResultRecordError, readResultRecord, resultRecord, type Provenance, type ResultRecord } from '../results/index.js';
import type { Storage } from '../storage/index.js';
import type { GridCell, GridConfig } from './config.js';
import type { GridReport } from './report.js';

/*
 * A grid's result record (docs/results/experiment-<name>.json): the grid
 * report (every row's mean ± std, every plotted series), each cell's resolved
 * config fingerprint, and the code that ran every finished cell-seed. A
 * cell-seed run under another resolved config than its cell's today is
 * refused: the grid's figures would not be this config's.
 */

export const GridRecordBodySchema = z.looseObject({ rows: z.array(z.unknown()), seeds: z.array(z.number().int()) });
export type GridRecord = ResultRecord & { body: GridReport };

export interface GridRecordOptions {
  file: string;
  grid: GridConfig;
  cells: readonly GridCell[];
  seeds: readonly number[];
  report: GridReport;
  storage: Storage;
  command: string;
  encoder?: EncoderSettings;
}

/** Each cell's resolved config fingerprint, the code of every finished cell-seed and their wall time; refuses cell-seeds run under another config. */
export async function gridProvenance(
  options: Pick<GridRecordOptions, 'file' | 'cells' | 'seeds' | 'storage' | 'encoder'>,
): Promise<{ cellFingerprints: Record<string, string>; provenance: Provenance[]; wallSeconds: number }> {
  const { cells, seeds, storage } = options;
  const cellFingerprints: Record<string, string> = {};
  const provenance: Provenance[] = [];
  let wallSeconds = 0;
  for (const cell of cells) {
    const { today: fingerprint, earlier } = acceptedFingerprints(cell.config, options.encoder);
    cellFingerprints[cell.name] = fingerprint;
    for (const seed of seeds) {
      const plan = planPipeline(cell.config, seed);
      const state = existsSync(plan.stateFile) ? await readPipelineState(storage, plan.stateFile) : null;
      if (!state) continue;
      for (const run of state.drivers) {
        if (run.configFingerprint !== fingerprint && !earlier.includes(run.configFingerprint))
          throw new ResultRecordError(
            `cell ${cell.name} seed ${seed} was run with resolved config ${run.configFingerprint}, not its config today (${fingerprint}): rerun it with --redo-from`,
            { file: plan.stateFile },
          );
        provenance.push(run.provenance);
      }
      wallSeconds += state.steps.reduce((sum, s) => sum + (s.reused ? 0 : (s.seconds ?? 0)), 0);
    }
  }
  if (provenance.length === 0) throw new ResultRecordError(`no cell of ${options.file} has run since records began: nothing to record`);
  return { cellFingerprints, provenance, wallSeconds };
}

export async function gridRecord(options: GridRecordOptions): Promise<GridRecord> {
  const { cellFingerprints, provenance, wallSeconds } = await gridProvenance(options);
  const { out: _out, seed: _seed, ...measured } = options.grid;
  return resultRecord({
    kind: 'experiment',
    file: options.file,
    command: options.command,
    provenance,
    config: { grid: measured, cells: cellFingerprints },
    seeds: options.seeds,
    wallSeconds,
    body: options.report,
  });
}

export function readGridRecord(file: string): GridRecord {
  const record = readResultRecord(file, GridRecordBodySchema);
  if (record.kind !== 'experiment') throw new ResultRecordError(`${file} is a ${record.kind} record, not an experiment record`, { file, field: 'kind' });
  // The envelope is validated and the body has the report's shape at its top; its rows are as buildGridReport wrote them.
  return record as unknown as GridRecord;
}
