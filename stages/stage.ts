import type { MessagePort } from 'node:worker_threads';
import { FatalTaskError, type JobRecord, type JobSpec, type StageName, type TaskMessage, type TaskRecord } from '../jobs/index.js';
import type { Storage } from '../storage/index.js';
import type { TaskCancel } from './cancel-flag.js';

/*
 * What a stage is: one module under stages/<job kind>/ that says, for one
 * step of a job, which shards it runs over, how a worker turns a task
 * message into local files (prepare, on the worker's main thread), the CPU
 * work on those files (run, in a pool thread), and what happens once every
 * task of the stage is done (after). The registry (registry.ts) lists them
 * per job kind; the coordinator, the in-process runner, the worker and the
 * pool thread all go through it, and none of them names a stage.
 */

/** What every pool task carries besides its stage's own fields: where progress goes and the cancel flag (cancel-flag.ts). */
export interface ThreadSide {
  progress?: MessagePort;
  cancel?: SharedArrayBuffer;
}

/** A task as a pool thread runs it: its stage's fields, every input and output a local path. */
export type PoolTask = { stage: StageName } & ThreadSide;

export interface PoolResult {
  rowsIn: number;
  rowsWritten: number;
  rowsRejected: number;
  /** Local files written, with the role each plays (and the name under the task's output folder; '' = the file's own name). */
  files: Array<{ path: string; role: string; name: string; buildMs?: number }>;
}

/** Progress message posted from the pool thread. */
export interface ProgressMessage {
  rows: number;
  total: number;
}

/** A job spec of one kind. */
export type JobSpecOf<K extends JobSpec['kind']> = Extract<JobSpec, { kind: K }>;

/** What a stage's prepare gets: the task message, its job's spec, storage, and a work folder of its own on the storage's filesystem. */
export interface StageContext<S extends JobSpec = JobSpec> {
  storage: Storage;
  task: TaskMessage;
  spec: S;
  work: string;
}

/** A prepared task: what the pool thread runs, and the storage folder its files are published under. */
export interface PreparedTask<T extends PoolTask = PoolTask> {
  poolTask: T;
  publishUnder: string;
}

/** One stage as its module defines it, typed by its job kind and its pool task. */
export interface StageDefinition<K extends JobSpec['kind'], T extends PoolTask> {
  name: T['stage'];
  job: K;
  /** Whether a job of this kind runs this stage (unset: always). */
  runsIn?(spec: JobSpecOf<K>): boolean;
  /** The shard ids the stage runs over: one task each. */
  shardIds(storage: Storage, spec: JobSpecOf<K>): Promise<number[]>;
  /** The task's inputs fetched to local paths, as the pool task to run, and where its outputs go. */
  prepare(context: StageContext<JobSpecOf<K>>): Promise<PreparedTask<T>>;
  /** The CPU work, in a pool thread, on local files only. */
  run(task: T, cancel?: TaskCancel): Promise<PoolResult>;
  /** Once every task of the stage is done, before the next stage is planned (the fit stage's model merge). */
  after?(storage: Storage, spec: JobSpecOf<K>, tasks: readonly TaskRecord[]): Promise<void>;
}

/** A stage as the runners use it: the same, with the job kind checked instead of typed. */
export interface Stage {
  readonly name: StageName;
  readonly job: JobSpec['kind'];
  runsIn(spec: JobSpec): boolean;
  shardIds(storage: Storage, spec: JobSpec): Promise<number[]>;
  prepare(context: StageContext): Promise<PreparedTask>;
  run(task: PoolTask, cancel?: TaskCancel): Promise<PoolResult>;
  after?(storage: Storage, spec: JobSpec, tasks: readonly TaskRecord[]): Promise<void>;
}

export function defineStage<K extends JobSpec['kind'], T extends PoolTask>(definition: StageDefinition<K, T>): Stage {
  // A task message whose spec is another kind's cannot succeed on any delivery.
  const own = (spec: JobSpec): JobSpecOf<K> => {
    if (spec.kind !== definition.job) throw new FatalTaskError(`stage ${definition.name} belongs to ${definition.job} jobs, not ${spec.kind} jobs`);
    return spec as JobSpecOf<K>;
  };
  const after = definition.after;
  return {
    name: definition.name,
    job: definition.job,
    runsIn: (spec) => spec.kind === definition.job && (definition.runsIn?.(spec as JobSpecOf<K>) ?? true),
    shardIds: (storage, spec) => definition.shardIds(storage, own(spec)),
    prepare: (context) => definition.prepare({ ...context, spec: own(context.spec) }),
    // The pool task was made by this stage's prepare (the pool entry picks the stage by the task's own name).
    run: (task, cancel) => definition.run(task as T, cancel),
    ...(after ? { after: (storage: Storage, spec: JobSpec, tasks: readonly TaskRecord[]) => after(storage, own(spec), tasks) } : {}),
  };
}

/** A job kind: its stages in order, the sets it reads, and the output manifest it writes when its last stage is done. */
export interface JobKindDefinition<K extends JobSpec['kind']> {
  kind: K;
  stages: Stage[];
  /** Option combinations no stage can run (a typed JobError naming the field); checked when the stages are listed. */
  check?(spec: JobSpecOf<K>): void;
  /** The shard sets it reads, each with a manifest (checked at submission). */
  inputs(spec: JobSpecOf<K>): string[];
  /** Every storage key the spec names, with its field (checked for containment at submission). */
  storageKeys(spec: JobSpecOf<K>): Array<[field: string, key: string]>;
  /** The manifest format its output folder holds. */
  outputFormat: string;
  /** The output manifest's body (the writer adds nothing): from the finished job's task records. */
  manifest(storage: Storage, job: JobRecord & { spec: JobSpecOf<K> }, tasks: TaskRecord[]): Promise<Record<string, unknown>>;
}

/** A job kind as the runners use it. */
export interface JobKind {
  readonly kind: JobSpec['kind'];
  readonly stages: readonly Stage[];
  readonly outputFormat: string;
  check(spec: JobSpec): void;
  inputs(spec: JobSpec): string[];
  storageKeys(spec: JobSpec): Array<[field: string, key: string]>;
  manifest(storage: Storage, job: JobRecord, tasks: TaskRecord[]): Promise<Record<string, unknown>>;
}

export function defineJobKind<K extends JobSpec['kind']>(definition: JobKindDefinition<K>): JobKind {
  const own = (spec: JobSpec): JobSpecOf<K> => {
    if (spec.kind !== definition.kind) throw new FatalTaskError(`a ${spec.kind} job is not a ${definition.kind} job`);
    return spec as JobSpecOf<K>;
  };
  const wrong = definition.stages.find((s) => s.job !== definition.kind);
  if (wrong) throw new Error(`stage ${wrong.name} is a ${wrong.job} stage, listed for ${definition.kind} jobs`);
  return {
    kind: definition.kind,
    stages: definition.stages,
    outputFormat: definition.outputFormat,
    check: (spec) => definition.check?.(own(spec)),
    inputs: (spec) => definition.inputs(own(spec)),
    storageKeys: (spec) => definition.storageKeys(own(spec)),
    manifest: (storage, job, tasks) => definition.manifest(storage, { ...job, spec: own(job.spec) }, tasks),
  };
}

/** A shard's number as file names carry it (sorts as numbers do). */
export const shardName = (id: number) => String(id).padStart(5, '0');

/** The tasks of one stage, in shard order. */
export const tasksOfStage = (tasks: readonly TaskRecord[], stage: StageName): TaskRecord[] =>
  tasks.filter((t) => t.stage === stage).sort((a, b) => a.shardId - b.shardId);

/** The output files of a finished task, relative to a set's folder (as a set manifest lists them). */
export function relativeTo(output: string, key: string): string {
  return key.slice(output.length).replace(/^\/+/, '');
}

/** The fields every output manifest opens with: the job, when, and rowsIn = rowsWritten + rowsRejected summed over the set's tasks. */
export function rowCounts(jobId: string, tasks: readonly TaskRecord[]) {
  const sum = (f: (t: TaskRecord) => number) => tasks.reduce((s, t) => s + f(t), 0);
  return {
    jobId,
    createdAt: new Date().toISOString(),
    rowsIn: sum((t) => t.rowsIn),
    rowsWritten: sum((t) => t.rowsWritten),
    rowsRejected: sum((t) => t.rowsRejected),
  };
}
