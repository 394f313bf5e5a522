import { isCleanKey } from '../storage/index.js';
import { z } from 'zod';
import { parseIvfFactory } from '../faiss/index.js';

/*
 * Jobs and tasks as stored in JetStream KV and carried on the work queue.
 * A job is a list of stages; each stage is one task per input shard. The
 * coordinator moves a job to its next stage when every task of the current
 * one is done, and writes the job's output manifest after the last.
 */

/** A storage key from a job spec: no '..' segment, no NUL (the storage adds root containment). */
const storageKey = z.string().min(1).max(4096).refine(isCleanKey, { message: "expected a storage key without '..' segments" });

const IndexSpecSchema = z
  .strictObject({
    /** File-name-safe label, e.g. "hnsw". */
    name: z.string().regex(/^[a-z0-9_-]+$/),
    factory: z.string().min(1).max(200),
    metric: z.enum(['ip', 'l2']),
    /** HNSW efSearch stored in the index (the search protocol's cap). */
    efSearch: z.number().int().positive().max(4096).optional(),
    /** IVF: the serving nprobe; unset = picked by the job on a held-out sample (`nprobeTuning`). */
    nprobe: z.number().int().positive().max(65_536).optional(),
    /**
     * SCI consistent indexing (SCI-SPEC §1.4), IVF only: coarse centroids and list assignment from the
     * passages' query view (embedding_q), stored vectors / residual PQ codes from the item view (embedding_i).
     * Needs a two-tower embedding set. Unset = false.
     */
    dualView: z.boolean().optional(),
  })
  .refine((spec) => !spec.dualView || parseIvfFactory(spec.factory) !== null, {
    message: 'a dual-view index must be IVF{n},Flat or IVF{n},PQ{m}',
    path: ['factory'],
  });
export type IndexSpec = z.infer<typeof IndexSpecSchema>;

const HashedEncoderSpecSchema = z.strictObject({
  kind: z.literal('hashed-tfidf'),
  /** Output dimension, at most the search protocol's 8192. @defaultValue 256 */
  dim: z.number().int().positive().max(8192).default(256),
  /** Hash buckets of the sparse TF-IDF space, at most 2^24 (the IDF table is one float per bucket). @defaultValue 2^18 */
  buckets: z
    .number()
    .int()
    .positive()
    .max(1 << 24)
    .default(1 << 18),
  /** Seed of the random projection. @defaultValue 1 */
  seed: z.number().int().default(1),
});

/** A trained encoder: a sci-cluster checkpoint (model-card.json), an ONNX export (model.onnx) or an external TensorFlow.js model folder (model.json). */
const ModelEncoderSpecSchema = z.strictObject({
  kind: z.literal('model'),
  /** Storage key of the model folder. */
  path: storageKey,
  /** Texts per forward pass. @defaultValue 256 */
  batchSize: z.number().int().positive().max(4096).default(256),
});

export const EncoderSpecSchema = z.discriminatedUnion('kind', [HashedEncoderSpecSchema, ModelEncoderSpecSchema]);
export type EncoderSpec = z.infer<typeof EncoderSpecSchema>;

/** How mined candidates become negatives (the rules are applied by mine/select.ts, in this order). */
export const NegativeFilterSchema = z.strictObject({
  /** Treat passages containing one of the query's answers as positives (DPR's has_answer; only where queries carry answers). @defaultValue true */
  answers: z.boolean().default(true),
  /** Skip the first r global ranks. @defaultValue 0 */
  skipTop: z.number().int().nonnegative().default(0),
  /** Keep ranks from..to (1-based, inclusive); null = all. @defaultValue null */
  window: z
    .strictObject({ from: z.number().int().positive(), to: z.number().int().positive() })
    .refine((w) => w.from <= w.to, { message: 'window.from must not exceed window.to' })
    .nullable()
    .default(null),
  /** Drop candidates scoring at least (positive's score − margin); null = keep. Needs the positive's score. @defaultValue null */
  nearPositiveMargin: z.number().nullable().default(null),
  /** Keep n negatives per query; null = keep every one left. @defaultValue null */
  sample: z
    .strictObject({
      n: z.number().int().positive(),
      /** 'uniform', or 'simans' (by score relative to the positive's). */
      by: z.enum(['uniform', 'simans']).default('uniform'),
      /** SimANS a (sharpness) and b (offset from the positive's score). @defaultValue 1, 0 */
      a: z.number().positive().default(1),
      b: z.number().default(0),
      seed: z.number().int().default(1),
    })
    .nullable()
    .default(null),
});
export type NegativeFilter = z.infer<typeof NegativeFilterSchema>;

const MineSourceSchema = z.discriminatedUnion('kind', [
  /** BM25 over the index set's BM25 shards, with corpus-wide statistics. */
  z.strictObject({ kind: z.literal('bm25') }),
  /** A dense index of the set; queries are encoded by the encoder that made its embeddings (the query tower). */
  z.strictObject({
    kind: z.literal('dense'),
    index: z.string().regex(/^[a-z0-9_-]+$/),
    nprobe: z.number().int().positive().max(65_536).optional(),
    efSearch: z.number().int().positive().max(16_384).optional(),
  }),
]);

export const JobSpecSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('encode'),
    /** Storage key of a passage shard set (folder with manifest.json). */
    input: storageKey,
    /** Storage key of the output folder. */
    output: storageKey,
    encoder: EncoderSpecSchema.prefault({ kind: 'hashed-tfidf' }),
    /** How embeddings are stored: float32, or float16 (half the bytes; readers widen it back). @defaultValue 'f32' */
    dtype: z.enum(['f32', 'f16']).default('f32'),
  }),
  z.strictObject({
    kind: z.literal('index'),
    /** Embedding shard set (for Faiss indexes); null when only BM25 is built. */
    input: storageKey.nullable(),
    output: storageKey,
    indexes: z.array(IndexSpecSchema).default([]),
    /** How an IVF index's serving nprobe is picked when its spec gives none (faiss/nprobe-tuning.ts). */
    nprobeTuning: z
      .strictObject({
        /** Smallest nprobe whose top k overlaps exact search this much. @defaultValue 0.9 */
        overlap: z.number().gt(0).max(1).default(0.9),
        /** Passages sampled per shard as queries. @defaultValue 256 */
        queriesPerShard: z.number().int().positive().max(10_000).default(256),
        /** Depth of the overlap. @defaultValue 10 */
        k: z.number().int().positive().max(1000).default(10),
        seed: z.number().int().default(1),
      })
      .prefault({}),
    /** Passage shard set to build BM25 on, per shard. */
    bm25: z
      .strictObject({ passages: storageKey, k1: z.number().nonnegative().default(0.9), b: z.number().min(0).max(1).default(0.4) })
      .nullable()
      .default(null),
    /**
     * Train once for the whole set (a `sample` and a `train` stage before `index`): every shard contributes a
     * seeded uniform sample of its rows (in proportion to its size), and each index that needs training (IVF
     * coarse centroids, PQ codebooks; a dual-view index's on the query view) is trained on the pooled sample.
     * Every shard's index is then built on those parameters, so nprobe means the same lists on every shard and
     * sharded IVF equals one global IVF with the same centroids. Null = each shard trains its own.
     */
    sharedQuantizer: z
      .strictObject({
        /** Training rows drawn over the whole set. @defaultValue 65536 (faiss trains IVF on ≤ 256 per centroid, PQ on 256 per code) */
        sampleRows: z.number().int().positive().max(10_000_000).default(65_536),
        seed: z.number().int().default(1),
      })
      .nullable()
      .default(null),
    /**
     * Routed IVF (a `route` stage after `index`; needs `sharedQuantizer`): every IVF index's inverted lists are
     * placed on `partitions` serving partitions by list id, balanced by list size, so a search goes only to the
     * partitions that own a query's probed lists (`--layout routed`). Null = data-sharded serving only.
     */
    routed: z
      .strictObject({ partitions: z.number().int().positive().max(1024) })
      .nullable()
      .default(null),
    /**
     * One graph per serving group (a `group` stage after `index`): every HNSW index is built again over the rows
     * of each group of consecutive shards, so a server holds one graph of its group instead of one per shard
     * (`sci serve shards --layout groups`). A query then walks `groups` graphs, not one per shard. Null = none.
     */
    graphGroups: z
      .strictObject({ groups: z.number().int().positive().max(1024) })
      .nullable()
      .default(null),
  }),
  z.strictObject({
    kind: z.literal('mine'),
    /** Index set (an index job's output) to mine from. */
    input: storageKey,
    /** Output folder: negatives.arrow and manifest.json. */
    output: storageKey,
    /** The queries: a passage shard set's queries and qrels of one split. */
    queries: z.strictObject({ passages: storageKey, split: z.string().min(1).max(64).default('train') }),
    source: MineSourceSchema,
    /** Global top-K per query (before filtering). @defaultValue 200 */
    k: z.number().int().positive().max(10_000).default(200),
    filter: NegativeFilterSchema.prefault({}),
    /** Provenance label of the negatives (a pipeline stage name). @defaultValue 'mined' */
    stage: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .default('mined'),
    /** Checkpoint id and step recorded with dense negatives. */
    checkpoint: z
      .strictObject({ id: z.string().min(1).max(256), step: z.number().int().nonnegative() })
      .nullable()
      .default(null),
  }),
  z.strictObject({
    kind: z.literal('export'),
    /** A passage or embedding shard set. */
    input: storageKey,
    /** Output folder: the files, one per shard (and view), and manifest.json. */
    output: storageKey,
    /** parquet: one file per shard, passages or embeddings; npy: embeddings as .npy per shard and view, with an ids file. @defaultValue 'parquet' */
    format: z.enum(['parquet', 'npy']).default('parquet'),
  }),
]);
export type JobSpec = z.infer<typeof JobSpecSchema>;
export type JobSpecInput = z.input<typeof JobSpecSchema>;

/** The shards of serving group `group` of `groups`: consecutive runs of the shard ids in order, as even as they come. */
export function groupShards(shardIds: readonly number[], group: number, groups: number): number[] {
  const sorted = [...shardIds].sort((a, b) => a - b);
  return sorted.slice(Math.floor((group * sorted.length) / groups), Math.floor(((group + 1) * sorted.length) / groups));
}

/** A shard's share of a shared quantizer's sample: its share of the rows (so the pooled sample is uniform over the set). */
export function shardSampleRows(sampleRows: number, shardRows: number, totalRows: number): number {
  return totalRows === 0 ? 0 : Math.min(shardRows, Math.round((sampleRows * shardRows) / totalRows));
}

export const STAGE_NAMES = ['fit', 'encode', 'sample', 'train', 'index', 'route', 'group', 'stats', 'queries', 'mine', 'merge', 'concat', 'export'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** A job id as the coordinator makes them (`job-<time>-<uuid>`) and every boundary accepts them. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
export const JobIdSchema = z.string().regex(JOB_ID_PATTERN);

/** A new job id: `job-<UTC time to the second>-<8 hex digits>` (sorts by submission time). */
export function newJobId(now = new Date()): string {
  return `job-${now
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(0, 14)}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * A submission as the client sends it: the spec with an id the client chose, so that a request that
 * timed out (and may have landed) is retried under the same id and finds its job instead of making a
 * second one. A bare spec (no envelope) is still taken, under an id the coordinator picks.
 */
export const JobSubmissionSchema = z.strictObject({ id: JobIdSchema, spec: z.unknown() });

export const JOB_STATES = ['planning', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States a job ends in: nothing more runs until a retry (failed, cancelled). */
export function isJobFinished(state: JobState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}

/** An ISO time as the writers make them (`new Date().toISOString()`). */
const isoTime = z.string().max(64);

/*
 * Job and task records in KV. A record we wrote is still input when we read it back: any role that
 * may write the bucket (the worker role writes task records) can put anything there, so every read
 * checks the writer's schema (jobs/records.ts).
 */
export const JobRecordSchema = z.object({
  id: JobIdSchema,
  spec: JobSpecSchema,
  state: z.enum(JOB_STATES),
  stages: z.array(z.enum(STAGE_NAMES)).min(1).max(STAGE_NAMES.length),
  /** Index into `stages` of the stage being run. */
  stage: z.number().int().nonnegative(),
  shards: z.number().int().nonnegative(),
  createdAt: isoTime,
  updatedAt: isoTime,
  finishedAt: isoTime.nullable(),
  /** Storage key of the job's output manifest, once done. */
  outputManifest: z.string().max(4096).nullable(),
  error: z.string().max(65_536).nullable(),
  /** Retries so far (`sci job retry`); absent on records written before retries existed. */
  attempt: z.number().int().nonnegative().optional(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

export const TASK_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export const TaskOutputSchema = z.object({
  /** Storage key. */
  key: z.string().max(4096),
  sha256: z.string().max(128),
  bytes: z.number().int().nonnegative(),
  /** What the file is: "embeddings", "faiss:<name>", "bm25", "df". */
  role: z.string().max(256),
  /** Indexes: time to train and fill it on this shard. */
  buildMs: z.number().nonnegative().optional(),
});
export type TaskOutput = z.infer<typeof TaskOutputSchema>;

const count = z.number().int().nonnegative();
export const TaskRecordSchema = z.object({
  jobId: JobIdSchema,
  stage: z.enum(STAGE_NAMES),
  shardId: count,
  state: z.enum(TASK_STATES),
  worker: z.string().max(256).nullable(),
  deliveries: count,
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
  rowsIn: count,
  rowsWritten: count,
  rowsRejected: count,
  outputs: z.array(TaskOutputSchema).max(100_000),
  error: z.string().max(65_536).nullable(),
});
export type TaskRecord = z.infer<typeof TaskRecordSchema>;

/** A worker's heartbeat record in the workers bucket (`sci cluster status`, the dashboard). */
export const WorkerRecordSchema = z.object({
  id: z.string().max(256),
  host: z.string().max(256),
  pid: count,
  threads: count,
  backend: z.string().max(64),
  /** The inference engine its pool threads encode with (absent from workers older than the ONNX engine). */
  encoder: z.object({ engine: z.string().max(64), provider: z.string().max(64).nullable(), threads: count }).optional(),
  memoryBytes: count,
  storage: z.string().max(64),
  status: z.string().max(64),
  startedAt: isoTime,
  heartbeatAt: isoTime,
  tasksDone: count,
  rowsDone: count,
  busyThreads: count,
});
export type WorkerRecord = z.infer<typeof WorkerRecordSchema>;

/** A worker's progress on one task (`sci.progress.<jobId>`), for the dashboard and `sci job status --watch`. */
export const TaskProgressSchema = z.object({
  worker: z.string().max(256),
  stage: z.enum(STAGE_NAMES),
  shardId: count,
  rows: count,
  total: count.optional(),
  rowsPerSecond: z.number().nonnegative().finite(),
});

/** The work-queue message: everything a worker needs to run one task. */
export const TaskMessageSchema = z.strictObject({
  jobId: JobIdSchema,
  stage: z.enum(STAGE_NAMES),
  shardId: z.number().int().nonnegative(),
  spec: JobSpecSchema,
});
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

/** `sci job cancel` / `retry` to the coordinator. */
export const JobControlRequestSchema = z.strictObject({
  op: z.enum(['cancel', 'retry']),
  jobId: JobIdSchema,
});

/** A worker's report of a task that cannot succeed, when it could not write the task record itself. */
export const TaskFailureReportSchema = z.strictObject({
  jobId: JobIdSchema,
  stage: z.enum(STAGE_NAMES),
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
