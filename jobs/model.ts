import { isCleanKey } from '../storage/index.js';
import { z } from 'zod';

/*
 * Jobs and tasks as stored in JetStream KV and carried on the work queue.
 * A job is a list of stages; each stage is one task per input shard. The
 * coordinator moves a job to its next stage when every task of the current
 * one is done, and writes the job's output manifest after the last.
 */

/** A storage key from a job spec: no '..' segment, no NUL (the storage adds root containment). */
const storageKey = z.string().min(1).max(4096).refine(isCleanKey, { message: "expected a storage key without '..' segments" });

const IndexSpecSchema = z.strictObject({
  /** File-name-safe label, e.g. "hnsw". */
  name: z.string().regex(/^[a-z0-9_-]+$/),
  factory: z.string().min(1).max(200),
  metric: z.enum(['ip', 'l2']),
  /** HNSW efSearch stored in the index. */
  efSearch: z.number().int().positive().optional(),
});
export type IndexSpec = z.infer<typeof IndexSpecSchema>;

const HashedEncoderSpecSchema = z.strictObject({
  kind: z.literal('hashed-tfidf'),
  /** Output dimension. @defaultValue 256 */
  dim: z.number().int().positive().default(256),
  /** Hash buckets of the sparse TF-IDF space. @defaultValue 2^18 */
  buckets: z
    .number()
    .int()
    .positive()
    .default(1 << 18),
  /** Seed of the random projection. @defaultValue 1 */
  seed: z.number().int().default(1),
});

/** A trained encoder: a sci-cluster checkpoint (model-card.json) or an external TensorFlow.js model folder (model.json). */
const ModelEncoderSpecSchema = z.strictObject({
  kind: z.literal('model'),
  /** Storage key of the model folder. */
  path: storageKey,
  /** Texts per forward pass. @defaultValue 256 */
  batchSize: z.number().int().positive().default(256),
});

export const EncoderSpecSchema = z.discriminatedUnion('kind', [HashedEncoderSpecSchema, ModelEncoderSpecSchema]);
export type EncoderSpec = z.infer<typeof EncoderSpecSchema>;

export const JobSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('encode'),
    /** Storage key of a passage shard set (folder with manifest.json). */
    input: storageKey,
    /** Storage key of the output folder. */
    output: storageKey,
    encoder: EncoderSpecSchema.prefault({ kind: 'hashed-tfidf' }),
  }),
  z.strictObject({
    kind: z.literal('index'),
    /** Embedding shard set (for Faiss indexes); null when only BM25 is built. */
    input: storageKey.nullable(),
    output: storageKey,
    indexes: z.array(IndexSpecSchema).default([]),
    /** Passage shard set to build BM25 on, per shard. */
    bm25: z
      .strictObject({ passages: storageKey, k1: z.number().nonnegative().default(0.9), b: z.number().min(0).max(1).default(0.4) })
      .nullable()
      .default(null),
  }),
]);
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;

export type StageName = 'fit' | 'encode' | 'index';

export function stagesOf(spec: JobSpec): StageName[] {
  if (spec.kind === 'index') return ['index'];
  // A trained model needs no corpus statistics; the hashed baseline fits its IDF first.
  return spec.encoder.kind === 'hashed-tfidf' ? ['fit', 'encode'] : ['encode'];
}

export type JobState = 'planning' | 'running' | 'done' | 'failed';

export interface JobRecord {
  id: string;
  spec: JobSpec;
  state: JobState;
  stages: StageName[];
  /** Index into `stages` of the stage being run. */
  stage: number;
  shards: number;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Storage key of the job's output manifest, once done. */
  outputManifest: string | null;
  error: string | null;
}

export type TaskState = 'queued' | 'running' | 'done' | 'failed';

export interface TaskOutput {
  /** Storage key. */
  key: string;
  sha256: string;
  bytes: number;
  /** What the file is: "embeddings", "faiss:<name>", "bm25", "df". */
  role: string;
  /** Indexes: time to train and fill it on this shard. */
  buildMs?: number;
}

export interface TaskRecord {
  jobId: string;
  stage: StageName;
  shardId: number;
  state: TaskState;
  worker: string | null;
  deliveries: number;
  startedAt: string | null;
  finishedAt: string | null;
  rowsIn: number;
  rowsWritten: number;
  rowsRejected: number;
  outputs: TaskOutput[];
  error: string | null;
}

/** The work-queue message: everything a worker needs to run one task. */
export const TaskMessageSchema = z.strictObject({
  jobId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  stage: z.enum(['fit', 'encode', 'index']),
  shardId: z.number().int().nonnegative(),
  spec: JobSpecSchema,
});
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

/** A worker's report of a task that cannot succeed, when it could not write the task record itself. */
export const TaskFailureReportSchema = z.strictObject({
  jobId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  stage: z.enum(['fit', 'encode', 'index']),
  shardId: z.number().int().nonnegative(),
  worker: z.string().max(256),
  reason: z.string().max(4096),
});
export type TaskFailureReport = z.infer<typeof TaskFailureReportSchema>;

export function taskKey(jobId: string, stage: StageName, shardId: number): string {
  return `${jobId}.${stage}.${shardId}`;
}

/** A task's record before any worker touched it. */
export function blankTask(task: Pick<TaskMessage, 'jobId' | 'stage' | 'shardId'>): TaskRecord {
  return {
    jobId: task.jobId,
    stage: task.stage,
    shardId: task.shardId,
    state: 'queued',
    worker: null,
    deliveries: 0,
    startedAt: null,
    finishedAt: null,
    rowsIn: 0,
    rowsWritten: 0,
    rowsRejected: 0,
    outputs: [],
    error: null,
  };
}
