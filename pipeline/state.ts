import { parseContract } from '../common/index.js';
import { z } from 'zod';
import { ProvenanceSchema } from '../results/index.js';
import type { Storage } from '../storage/index.js';
import { PipelineError } from './errors.js';

/*
 * The pipeline's state: one JSON file per seed (seed-<s>/pipeline.json),
 * rewritten through a temp name after every change. It says which steps are
 * done (with the fingerprint of their definition), the cluster job each job
 * step ran as, and every evaluation's result. Running the same command again
 * reads it and goes on from the first step that is not done.
 */

export const PIPELINE_STATE_FORMAT = 'sci-cluster/pipeline-state@1';

const MetricsSchema = z.record(z.string(), z.number());

export const StepRecordSchema = z.strictObject({
  id: z.string(),
  kind: z.enum(['ingest', 'job', 'train', 'eval', 'analyse']),
  fingerprint: z.string(),
  state: z.enum(['running', 'done', 'failed']),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  seconds: z.number().nullable(),
  /** The cluster job a job step ran as (also reused when the driver was stopped while it ran). */
  jobId: z.string().nullable(),
  error: z.string().nullable(),
  /** How many times this step was started (1 when it was never interrupted). */
  attempts: z.number().int().positive(),
  /** A job step whose job was already done by another run (shared BM25 / baseline work). */
  reused: z.boolean().default(false),
});
export type StepRecord = z.infer<typeof StepRecordSchema>;

export const EvalResultSchema = z.strictObject({
  stage: z.string(),
  split: z.string(),
  index: z.string(),
  indexSet: z.string(),
  checkpoint: z.string().nullable(),
  trainedSteps: z.number().int().nullable(),
  /** Judged queries evaluated (every metric is their mean). */
  queries: z.number().int(),
  passages: z.number().int(),
  metrics: MetricsSchema,
  /** Null for a fused row: nothing was searched for it. */
  latency: z.strictObject({ p50Ms: z.number(), p99Ms: z.number() }).nullable(),
  fingerprint: z.string(),
  measuredAt: z.string(),
});
export type EvalResult = z.infer<typeof EvalResultSchema>;

/** One driver's start on this seed: the code it ran and the resolved config's fingerprint (pipeline/record.ts). */
export const DriverRunSchema = z.strictObject({ provenance: ProvenanceSchema, configFingerprint: z.string() });
export type DriverRun = z.infer<typeof DriverRunSchema>;

/** A row's result: what its target names, and what was measured. */
export function evalResultOf(
  target: Pick<EvalResult, 'stage' | 'split' | 'index' | 'indexSet' | 'checkpoint' | 'trainedSteps'>,
  measured: Pick<EvalResult, 'queries' | 'passages' | 'metrics' | 'latency' | 'fingerprint'>,
): EvalResult {
  const { stage, split, index, indexSet, checkpoint, trainedSteps } = target;
  return { stage, split, index, indexSet, checkpoint, trainedSteps, ...measured, measuredAt: new Date().toISOString() };
}

export const PipelineStateSchema = z.strictObject({
  format: z.literal(PIPELINE_STATE_FORMAT),
  seed: z.number().int(),
  out: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  totalSteps: z.number().int(),
  steps: z.array(StepRecordSchema),
  results: z.array(EvalResultSchema),
  /** The trained checkpoint with the best dev metric over the whole corpus. */
  best: z.strictObject({ stage: z.string(), checkpoint: z.string(), indexSet: z.string(), metric: z.string(), value: z.number() }).nullable(),
  /** Every driver start that ran a different code or resolved config than the one before it (empty in states older than records). */
  drivers: z.array(DriverRunSchema).default([]),
});
export type PipelineState = z.infer<typeof PipelineStateSchema>;

export async function readPipelineState(storage: Storage, key: string): Promise<PipelineState | null> {
  if (!(await storage.exists(key))) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(await storage.readText(key));
  } catch (err) {
    throw new PipelineError(`pipeline state is not JSON: ${(err as Error).message}`, { file: key });
  }
  return parseContract(PipelineStateSchema, raw, { what: 'pipeline state', emptyField: '(root)', error: PipelineError, file: key });
}

export async function writePipelineState(storage: Storage, key: string, state: PipelineState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  await storage.writeText(key, `${JSON.stringify(state, null, 2)}\n`);
}
