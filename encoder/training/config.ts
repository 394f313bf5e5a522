import { z } from 'zod';

/*
 * `sci train` configuration: one validated object (YAML file, then flags).
 * Defaults are the best configuration measured on WordNet (README, `sci
 * train`): the fast model with shared towers, d = 256, lr 5e-3, a WordPiece
 * vocabulary over Porter stems. Separate towers (SCI's setting) are a
 * choice, with SymmAligner or CI to use them.
 */

const modelCommon = {
  /** Output dimension d. */
  dim: z.number().int().positive().default(128),
  /** One encoder for queries and passages; 'separate' trains two (SCI). @defaultValue 'shared' */
  towers: z.enum(['shared', 'separate']).default('shared'),
  maxLength: z.number().int().min(4).max(512).default(32),
  pooling: z.enum(['mean', 'idf']).default('idf'),
};

export const TrainConfigSchema = z.strictObject({
  data: z.strictObject({
    /** Passage shard set (folder or manifest.json) with queries and qrels. */
    shards: z.string().min(1),
    trainSplit: z.string().default('train'),
    devSplit: z.string().default('dev'),
    /** Hard negatives per training query (0 = in-batch negatives only). */
    negativesPerQuery: z.number().int().nonnegative().default(0),
    /** Mined negatives (mine job outputs), mixed by weight; drawn anew at every step. */
    negativesFrom: z.array(z.strictObject({ path: z.string().min(1), weight: z.number().positive().default(1) })).default([]),
    /**
     * Passages held in memory for a corpus larger than that (DPR's 21M): every passage that a judgment or a
     * source negative names, plus a seeded uniform sample of the rest, about this many in all. The vocabulary, the
     * IDF, random negatives and the dev pool come from them; mined negatives outside them are dropped
     * (counted). Absent: the whole corpus. (Optional, not defaulted: a config without it resolves as before.)
     */
    corpusSample: z.number().int().positive().optional(),
  }),
  model: z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('fast'),
        ...modelCommon,
        dim: z.number().int().positive().default(256),
        embeddingDim: z.number().int().positive().default(256),
      }),
      z.strictObject({
        kind: z.literal('transformer'),
        ...modelCommon,
        width: z.number().int().positive().default(128),
        layers: z.number().int().positive().default(2),
        heads: z.number().int().positive().default(4),
        ffnWidth: z.number().int().positive().default(256),
      }),
    ])
    .prefault({ kind: 'fast' }),
  tokenizer: z
    .strictObject({
      /** A BERT vocab.txt to use; null = learn a WordPiece vocabulary from the training texts. */
      vocab: z.string().nullable().default(null),
      size: z.number().int().min(64).default(8000),
      lowercase: z.boolean().default(true),
      /** Porter-stem words before WordPiece, as the BM25 analyzer and the hashed baseline do (inflections share pieces). @defaultValue true */
      stem: z.boolean().default(true),
    })
    .prefault({}),
  /** Start from this checkpoint's weights (and tokenizer) instead of a random initialisation. */
  initFrom: z.string().nullable().default(null),
  objective: z
    .strictObject({
      base: z.enum(['infonce', 'triplet']).default('infonce'),
      temperature: z.number().positive().default(0.05),
      margin: z.number().nonnegative().default(0.2),
      /** w of w·(1 − cos(q, d⁺)); the thesis reports 0.6 best. */
      distanceWeight: z.number().nonnegative().default(0),
      symmAligner: z
        .strictObject({
          variant: z.enum(['A', 'B', 'C']).default('A'),
          lambda: z.number().nonnegative().default(1),
          /**
           * The term is on from this step: before it, separate towers (initialised as copies) move apart on
           * their own inputs, so the aligner has a gap to close; from step 0, variant A trains a shared tower. @defaultValue 0
           */
          startStep: z.number().int().nonnegative().default(0),
        })
        .nullable()
        .default(null),
    })
    .prefault({}),
  optimizer: z
    .strictObject({
      lr: z.number().positive().default(5e-3),
      weightDecay: z.number().nonnegative().default(0.01),
      beta1: z.number().min(0).max(1).default(0.9),
      beta2: z.number().min(0).max(1).default(0.999),
      epsilon: z.number().positive().default(1e-8),
      warmupSteps: z.number().int().nonnegative().default(100),
      schedule: z.enum(['linear', 'cosine', 'constant']).default('linear'),
      /** The step the decay reaches 0 at (null = steps); a pipeline sets its total over every training segment. */
      totalSteps: z.number().int().positive().nullable().default(null),
      /** Clip the global gradient norm to this (0 = off). */
      clipNorm: z.number().nonnegative().default(1),
    })
    .prefault({}),
  steps: z.number().int().positive().default(1500),
  batchSize: z.number().int().min(2).default(128),
  seed: z.number().int().default(1),
  eval: z
    .strictObject({
      /** Evaluate (and checkpoint) every this many steps, and at the end. */
      every: z.number().int().positive().default(250),
      /** Dev queries evaluated (0 = all). */
      queries: z.number().int().nonnegative().default(0),
      /** Passages searched exhaustively: the dev positives plus sampled distractors (0 = the whole corpus). */
      poolSize: z.number().int().nonnegative().default(20000),
      /** Dev metric that picks the best checkpoint. */
      metric: z.enum(['Recall@10', 'Recall@100', 'MRR@10', 'nDCG@10']).default('Recall@10'),
      /** A held-out split the best checkpoint is measured on once, at the end (never used for selection). */
      testSplit: z.string().nullable().default(null),
      /** Vectors sampled for uniformity and the cross-tower gap. */
      sample: z.number().int().positive().default(2000),
    })
    .prefault({}),
  backend: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
