import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/*
 * What makes bench/corpus-scale survive its own restart: a state file in the
 * run's folder with the run's parameters, every finished stage's result, the
 * stage in progress (its time and peak memory so far, saved every few
 * seconds), the ids of the jobs it submitted (a restarted run follows them on
 * the same JetStream store instead of submitting again) and the processes it
 * started (a restarted run stops any that outlived the run before it).
 */

export const CORPUS_SCALE_STATE = 'sci-cluster/corpus-scale-state@2';
const FILE = 'bench-state.json';

export const ParamsSchema = z.strictObject({
  rows: z.number().int().positive(),
  shards: z.number().int().positive(),
  workers: z.number().int().positive(),
  dtype: z.enum(['f32', 'f16']),
  /** The generated corpus: articles around WordNet synsets, or unstructured Zipf words. */
  kind: z.enum(['synsets', 'zipf']),
  /** The encoder: one trained on the corpus's own training queries, or the hashed TF-IDF baseline. */
  encoder: z.enum(['trained', 'hashed']),
  trainSteps: z.number().int().positive(),
  /** Dev (and test) queries evaluated through scatter-gather. */
  queries: z.number().int().positive(),
  /** Queries the dense mine job mines: the mine split (before trainQueries existed, the train split the encoder trained on). */
  mineQueries: z.number().int().positive(),
  /**
   * The encoder's training queries, the train split. Absent from runs made before it existed, whose encoder
   * trained on the mined split's 10,000 queries (12.8 epochs in 1,000 steps of 128: it learned them by heart).
   */
  trainQueries: z.number().int().positive().optional(),
});
export type CorpusScaleParams = z.infer<typeof ParamsSchema>;

export const StageResultSchema = z.strictObject({
  stage: z.string(),
  /** Wall time over every attempt (an interrupted attempt counts up to its last saved moment). */
  seconds: z.number().nonnegative(),
  attempts: z.number().int().positive(),
  /** Peak RSS (MiB) per process role during the stage, over every attempt. */
  peakRssMiB: z.record(z.string(), z.number().nonnegative()),
  /** Bytes of the stage's output on disk. */
  bytes: z.number().int().nonnegative(),
  /** What the stage went through, for its rate (passages, queries, steps). */
  items: z.number().int().nonnegative(),
  unit: z.string(),
});
export type StageResult = z.infer<typeof StageResultSchema>;

const RunStateSchema = z.strictObject({
  format: z.literal(CORPUS_SCALE_STATE),
  params: ParamsSchema,
  done: z.array(StageResultSchema),
  running: z
    .strictObject({ stage: z.string(), seconds: z.number().nonnegative(), attempts: z.number().int().positive(), peakRssMiB: z.record(z.string(), z.number()) })
    .nullable(),
  /** Stage → the id of the job it submitted. */
  jobs: z.record(z.string(), z.string()),
  /** Processes this run started that may outlive it (cluster, shard servers, the generator and ingest). */
  pids: z.array(z.number().int().positive()),
  /** The code of every attempt (`git describe --always --dirty`), in order: a run continued after a change of code says so. */
  code: z.array(z.string()),
  /** The bench process of the latest attempt (absent from states written before it was kept). */
  owner: z.number().int().positive().optional(),
});
export type RunState = z.infer<typeof RunStateSchema>;

export const statePath = (dir: string) => join(dir, FILE);

/** The state of a run in `dir`: a fresh one where there is none; an error where it was made with other parameters. */
export function loadRunState(dir: string, params: CorpusScaleParams): { state: RunState; resumed: boolean } {
  const path = statePath(dir);
  if (!existsSync(path)) return { state: { format: CORPUS_SCALE_STATE, params, done: [], running: null, jobs: {}, pids: [], code: [] }, resumed: false };
  const state = RunStateSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  const differs = (Object.keys(params) as Array<keyof CorpusScaleParams>).filter((k) => state.params[k] !== params[k]);
  if (differs.length > 0)
    throw new Error(
      `${path} is a run with ${differs.map((k) => `${k} ${state.params[k]}`).join(', ')}; asked for ${differs.map((k) => `${k} ${params[k]}`).join(', ')} (give the same parameters to continue it, or --fresh to start over)`,
    );
  return { state, resumed: true };
}

/** Written aside and renamed, so a kill mid-write leaves the previous state. */
export function saveRunState(dir: string, state: RunState): void {
  const path = statePath(dir);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** A process's command line, or null where it is gone. */
function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return null;
  }
}

/**
 * The pid of the earlier attempt's bench where it is still running (a bench/corpus-scale process by
 * its command line, so a reused pid does not count): two benches on one folder would stop each
 * other's cluster and write one state file.
 */
export function liveOwner(state: RunState): number | null {
  if (state.owner === undefined || state.owner === process.pid) return null;
  return /corpus-scale\.js/.test(commandLine(state.owner) ?? '') ? state.owner : null;
}

/** Stops processes an earlier run started that are still alive (checked by command line, so a reused pid is left alone). */
export function stopLeftovers(pids: readonly number[]): number[] {
  const stopped: number[] = [];
  for (const pid of pids) {
    const cmdline = commandLine(pid);
    if (cmdline === null || !/sci\.js|nats-server/.test(cmdline)) continue; // gone, or the pid reused
    try {
      process.kill(pid, 'SIGKILL');
      stopped.push(pid);
    } catch {
      // ended between the check and the kill
    }
  }
  return stopped;
}
