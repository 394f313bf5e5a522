import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import {
  captureProvenance,
  distinctCode,
  recordCommit,
  ResultRecordError,
  readResultRecord,
  resultRecord,
  type Provenance,
  type ResultRecord,
} from '../results/index.js';
import type { CiTestReport } from './ci-test.js';
import { gridProvenance, type GridRecordOptions } from './record.js';

/*
 * The CI test's result record (docs/results/experiment-<grid>-ci-test.json):
 * the report (every checkpoint's means and paired tests, every variant's
 * bootstrap intervals, the correlations with Δcos), the code that trained
 * every checkpoint (the grid's cell-seeds) and the code of the analysis
 * itself, the grid's resolved fingerprints and the test's own settings.
 */

export const CiTestBodySchema = z.looseObject({
  nlist: z.number().int().positive(),
  nprobes: z.array(z.number().int().positive()),
  checkpoints: z.array(z.unknown()),
  variants: z.array(z.unknown()),
  correlations: z.array(z.unknown()),
});
/** Which code trained the checkpoints and which ran the analysis (the envelope's provenance is their union). */
export interface CiTestCode {
  training: Provenance[];
  analysis: Provenance;
}
export type CiTestRecord = ResultRecord & { body: CiTestReport & { code: CiTestCode } };

export interface CiTestSettings {
  nlist: number;
  nprobes: number[];
  split: string;
  maxQueries: number;
}

export async function ciTestRecord(
  options: Omit<GridRecordOptions, 'report'> & {
    report: CiTestReport;
    settings: CiTestSettings;
    analysisSeconds: number;
    /** The code that ran the analysis. @defaultValue this process's */
    analysis?: Provenance;
  },
): Promise<CiTestRecord> {
  const { cellFingerprints, provenance, wallSeconds } = await gridProvenance(options);
  const analysis = options.analysis ?? captureProvenance();
  const { out: _out, seed: _seed, ...measured } = options.grid;
  return resultRecord({
    kind: 'experiment',
    // Named after the grid with a suffix: the grid's own record keeps the grid's name.
    file: join(dirname(options.file), `${basename(options.file, extname(options.file))}-ci-test`),
    command: options.command,
    provenance: [...provenance, analysis],
    config: { grid: measured, cells: cellFingerprints, ciTest: options.settings },
    seeds: options.seeds,
    wallSeconds: wallSeconds + options.analysisSeconds,
    body: { ...options.report, code: { training: distinctCode(provenance), analysis } },
  });
}

/**
 * The commits a CI-test record stands for: every checkpoint trained at one commit, and the analysis
 * at one (the same or a later one: a fix to the analysis need not retrain the grid), each clean unless
 * allowed. Refused otherwise, naming why.
 */
export function ciTestCommits(record: CiTestRecord, options: { allowDirty?: boolean } = {}): { training: string; analysis: string } {
  const { training, analysis } = record.body.code;
  return {
    training: recordCommit({ name: `${record.name} (checkpoints)`, provenance: training }, options),
    analysis: recordCommit({ name: `${record.name} (analysis)`, provenance: [analysis] }, options),
  };
}

export function readCiTestRecord(file: string): CiTestRecord {
  const record = readResultRecord(file, CiTestBodySchema);
  if (record.kind !== 'experiment') throw new ResultRecordError(`${file} is a ${record.kind} record, not an experiment record`, { file, field: 'kind' });
  // The envelope and the body's top are validated; the rest is as runCiTest wrote it.
  return record as unknown as CiTestRecord;
}
