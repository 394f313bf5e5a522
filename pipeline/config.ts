import { z } from 'zod';
import { NegativeFilterSchema } from '../jobs/index.js';

/*
 * `sci pipeline run FILE.yaml`: the three training stages of SCI-SPEC §2.3
 * as one resumable run. Paths are resolved against the working directory;
 * every output lives under `out`.
 */

const steps = z.number().int().positive();

const AnalysisIndexSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_-]+$/),
  factory: z.string().min(1),
  metric: z.enum(['ip', 'l2']).default('ip'),
  efSearch: z.number().int().positive().optional(),
  /** SCI consistent indexing (needs separate towers). */
  dualView: z.boolean().optional(),
});

const MineSchema = z.strictObject({
  /** Global top-K retrieved per training query before filtering. @defaultValue 100 */
  k: z.number().int().positive().max(10_000).default(100),
  filter: NegativeFilterSchema.prefault({}),
});

export const PipelineConfigSchema = z.strictObject({
  /** Output folder: the state file (pipeline.json), every job's output, the training segments, the report. */
  out: z.string().min(1),
  corpus: z.strictObject({
    /** Passage shard set with queries and qrels (sci ingest's output). */
    passages: z.string().min(1),
    /** Make the passage set first when it is missing (the built-in WordNet corpus, or a WordNet dict folder). */
    ingest: z
      .strictObject({ format: z.literal('wordnet'), input: z.string().nullable().default(null), shards: z.number().int().positive().default(4) })
      .nullable()
      .default(null),
  }),
  /** Seed of the weights, batches and negative draws (`--seed` overrides it; one out folder per seed). */
  seed: z.number().int().default(1),
  /** `sci train`'s config shared by every segment (model, objective, optimizer, batchSize, data.negativesPerQuery, eval); steps and seed come from here. */
  train: z.record(z.string(), z.unknown()).default({}),
  stages: z.strictObject({
    /** Stage 1: in-batch negatives only. */
    inBatch: z.strictObject({ steps }),
    /** Stage 2: BM25 negatives mined over the whole corpus; null = no stage 2 (nor 3): in-batch training only. */
    bm25: z.strictObject({ steps, negativesPerQuery: z.number().int().positive().default(1), mine: MineSchema.prefault({}) }).nullable(),
    /** Stage 3: `rounds` × (encode with the latest checkpoint → index → dense mine → `steps` more steps); null = none. */
    dense: z
      .strictObject({
        rounds: z.number().int().nonnegative(),
        steps,
        negativesPerQuery: z.number().int().positive().default(1),
        /** The index negatives are mined from: Flat (exact) or an approximate one such as HNSW32,Flat. */
        index: z.strictObject({ factory: z.string().min(1).default('Flat'), efSearch: z.number().int().positive().optional() }).prefault({}),
        mine: MineSchema.prefault({}),
        /** Also keep drawing stage 2's BM25 negatives, at this weight against the dense ones (0 = dense only). */
        bm25Weight: z.number().nonnegative().default(0),
      })
      .nullable()
      .default(null),
  }),
  /**
   * Research measurements of chosen stages' checkpoints (pipeline/analysis.ts): more indexes built on their
   * embeddings and swept (nprobe, efSearch), HNSW work at equal overlap with Flat, and the embedding geometry.
   */
  analysis: z
    .strictObject({
      /** Which rows: 'stage1' (in-batch only) and/or 'final' (the last stage). */
      stages: z
        .array(z.enum(['stage1', 'final']))
        .min(1)
        .default(['final']),
      /** Indexes built on the stage's embeddings besides Flat (their nprobe is picked by the index job). */
      indexes: z.array(AnalysisIndexSchema).default([]),
      /** HNSW: efSearch per model is where its top 10 overlaps its own Flat's this much; distances are read there. */
      equalOverlap: z.number().gt(0).lt(1).default(0.95),
      /** Queries of the dev split measured (0 = all) and of them, per sweep point. */
      maxQueries: z.number().int().nonnegative().default(2000),
      sweepQueries: z.number().int().positive().default(500),
      /** Passages sampled for uniformity and the cross-tower gap. */
      sample: z.number().int().positive().default(2000),
    })
    .nullable()
    .default(null),
  /** Where the seed-independent work (BM25, the hashed baseline) lives; an experiment grid shares it across cells. @defaultValue out */
  sharedOut: z.string().min(1).nullable().default(null),
  /** After every stage, the dev split through scatter-gather over the whole corpus; the test split once, at the end. */
  eval: z
    .strictObject({
      split: z.string().default('dev'),
      testSplit: z.string().nullable().default('test'),
      metric: z.enum(['Recall@10', 'Recall@100', 'MRR@10', 'nDCG@10']).default('Recall@10'),
      k: z.number().int().min(10).default(100),
      /** Evaluate at most this many queries (0 = all). */
      maxQueries: z.number().int().nonnegative().default(0),
      /** Reference rows measured the same way. */
      baselines: z.strictObject({ bm25: z.boolean().default(true), hashed: z.boolean().default(true) }).prefault({}),
      /**
       * A `hybrid` row: the final stage's ranking fused with BM25's by reciprocal rank (what `sci search
       * --hybrid` serves), from the two rows' top-k; needs the BM25 baseline. @defaultValue true
       */
      hybrid: z.boolean().default(true),
    })
    .prefault({}),
  /** How long one cluster job may take before the driver gives up on it. @defaultValue 1 hour */
  jobTimeoutMs: z.number().int().positive().default(3_600_000),
});
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;
