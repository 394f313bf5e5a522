import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { parseContract } from '../common/index.js';
import { TrainConfigSchema, type EncoderSettings } from '../encoder/index.js';
import { ResultRecordError, configFingerprint, readResultRecord, resultRecord, type ResultRecord } from '../results/index.js';
import type { PipelineConfig } from './config.js';
import { PipelineError } from './errors.js';
import { fingerprintOf, planPipeline } from './plan.js';
import { summarizeSeeds, type PipelineSummary } from './report.js';
import { EvalResultSchema, type PipelineState } from './state.js';

/*
 * A pipeline's result record (docs/results/pipeline-<name>.json): every seed's
 * evaluations and step times, the summary over seeds, and which code ran it
 * with which resolved configuration. The resolved configuration is the
 * pipeline file with sci train's defaults filled into its `train` section, so
 * a changed default (the tokenizer's stemming, say) changes the fingerprint
 * even where the YAML file did not change.
 */

/**
 * The configuration a pipeline run actually used: its file's sections, `train` resolved through sci train's
 * schema, the query encoder's engine. Where outputs go is not part of it: `out` is left out and a grid cell's
 * `sharedOut` is kept relative to `out` (where the grid's shared stages live beside its cells), so the same
 * config checked out in another folder has the same fingerprint.
 */
export function resolvedPipelineConfig(config: PipelineConfig, encoder: EncoderSettings = {}): Record<string, unknown> {
  return resolved(config, encoder, config.sharedOut === null ? null : relative(resolve(config.out), resolve(config.sharedOut)));
}

/**
 * The fingerprints a run of this config may have been recorded under: today's, and the one runs before
 * 2026-12-06 recorded, when a grid cell's `sharedOut` entered it as an absolute path (the grid's folder).
 * The same config, so their results are accepted; records are written with today's.
 */
export function acceptedFingerprints(config: PipelineConfig, encoder: EncoderSettings = {}): { today: string; earlier: string[] } {
  return { today: configFingerprint(resolvedPipelineConfig(config, encoder)), earlier: [configFingerprint(resolved(config, encoder, config.sharedOut))] };
}

function resolved(config: PipelineConfig, encoder: EncoderSettings, sharedOut: string | null): Record<string, unknown> {
  // Seed and out folder are not part of what is measured: seeds are listed beside it, outputs can live anywhere.
  const { seed: _seed, out: _out, ...measured } = config;
  const train = parseContract(
    TrainConfigSchema,
    { ...config.train, data: { ...(config.train as { data?: object }).data, shards: config.corpus.passages } },
    {
      error: PipelineError,
      fieldPrefix: 'train.',
    },
  );
  // Per-segment fields (steps, seed, negatives, schedule length) come from the stages, not from here.
  const { steps: _steps, seed: _trainSeed, ...shared } = train;
  return {
    ...measured,
    sharedOut,
    train: shared,
    encoder: { engine: encoder.engine ?? 'auto', threads: encoder.threads ?? 1, provider: encoder.provider ?? 'auto' },
  };
}

const MetricRecord = z.record(z.string(), z.number());

export const PipelineRecordBodySchema = z.strictObject({
  /** The split the best checkpoint is chosen on (dev); the other is measured once at the end. */
  selectionSplit: z.string(),
  runs: z.array(
    z.strictObject({
      seed: z.number().int(),
      finishedAt: z.string(),
      steps: z.array(z.strictObject({ id: z.string(), seconds: z.number(), attempts: z.number().int(), reused: z.boolean() })),
      results: z.array(EvalResultSchema),
      best: z.strictObject({ stage: z.string(), metric: z.string(), value: z.number() }).nullable(),
    }),
  ),
  summary: z.strictObject({
    seeds: z.array(z.number().int()),
    rows: z.array(
      z.strictObject({
        stage: z.string(),
        split: z.string(),
        trainedSteps: z.number().int().nullable(),
        seeds: z.number().int(),
        queries: z.number().int(),
        mean: MetricRecord,
        std: MetricRecord,
      }),
    ),
  }),
});
export type PipelineRecordBody = z.infer<typeof PipelineRecordBodySchema>;
export type PipelineRecord = ResultRecord & { body: PipelineRecordBody };

export interface PipelineRecordOptions {
  /** The pipeline file (its base name names the record). */
  file: string;
  config: PipelineConfig;
  states: readonly PipelineState[];
  /** The command that reproduces the record. */
  command: string;
  encoder?: EncoderSettings;
}

/**
 * The record of finished seeds of one pipeline config. Refused when a seed is not finished, when a
 * done step's definition is not this config's, or when a seed's drivers ran another resolved config.
 */
export function pipelineRecord(options: PipelineRecordOptions): PipelineRecord {
  const { config, states } = options;
  if (states.length === 0) throw new ResultRecordError('a pipeline record needs at least one finished seed');
  const { today: fingerprint, earlier } = acceptedFingerprints(config, options.encoder);
  const provenance = [];
  for (const state of states) {
    if (!state.finishedAt) throw new ResultRecordError(`seed ${state.seed} has not finished (${state.out}): run it to the end first`);
    const plan = planPipeline(config, state.seed);
    for (const step of plan.steps) {
      const done = state.steps.find((s) => s.id === step.id);
      if (done?.state !== 'done' || done.fingerprint !== fingerprintOf(step))
        throw new ResultRecordError(`seed ${state.seed}: step ${step.id} was not done with this config's definition (${plan.stateFile})`);
    }
    if (state.drivers.length === 0) throw new ResultRecordError(`seed ${state.seed} predates result records: its code and config are unknown; rerun it`);
    for (const run of state.drivers) {
      if (run.configFingerprint !== fingerprint && !earlier.includes(run.configFingerprint))
        throw new ResultRecordError(
          `seed ${state.seed} was run (${run.provenance.recordedAt}) with resolved config ${run.configFingerprint}, not this one (${fingerprint}): a default or an override differs`,
        );
      provenance.push(run.provenance);
    }
  }
  const summary: PipelineSummary = summarizeSeeds(states, config);
  const runs = states.map((state) => ({
    seed: state.seed,
    finishedAt: state.finishedAt!,
    steps: state.steps.map((s) => ({ id: s.id, seconds: s.seconds ?? 0, attempts: s.attempts, reused: s.reused })),
    results: state.results,
    best: state.best ? { stage: state.best.stage, metric: state.best.metric, value: state.best.value } : null,
  }));
  // Work shared by seeds (ingest, BM25, the baseline) is timed in the seed that did it; the others mark it reused.
  const wallSeconds = runs.reduce((sum, run) => sum + run.steps.reduce((s, step) => s + (step.reused ? 0 : step.seconds), 0), 0);
  return resultRecord({
    kind: 'pipeline',
    file: options.file,
    command: options.command,
    provenance,
    config: resolvedPipelineConfig(config, options.encoder),
    seeds: states.map((s) => s.seed),
    wallSeconds,
    body: { selectionSplit: config.eval.split, runs, summary },
  });
}

export function readPipelineRecord(file: string): PipelineRecord {
  const record = readResultRecord(file, PipelineRecordBodySchema);
  if (record.kind !== 'pipeline') throw new ResultRecordError(`${file} is a ${record.kind} record, not a pipeline record`, { file, field: 'kind' });
  return record;
}
