import { z } from 'zod';

/*
 * Encoder architectures, validated wherever they come from (config, a model
 * card). Both produce L2-normalised vectors of `dim`; `towers` says whether
 * queries (f_q) and items (f_i) share weights or not (SCI needs separate).
 */

const common = {
  vocabSize: z.number().int().min(8),
  dim: z.number().int().positive(),
  towers: z.enum(['shared', 'separate']),
  /** Longest input in tokens, [CLS] and [SEP] included. */
  maxLength: z.number().int().min(2).max(512),
  /**
   * 'mean' over real tokens, or 'idf': each token weighted by its inverse
   * document frequency in the training corpus (a frozen `idf` weight, set
   * when training starts, kept in the checkpoint), as in SIF / TF-IDF
   * averaging: frequent pieces ("the", "of", [CLS]) stop dominating.
   */
  pooling: z.enum(['mean', 'idf']).default('mean'),
};

export const ArchitectureSchema = z.discriminatedUnion('kind', [
  /** Token embeddings, masked mean pooling, a dense projection. */
  z.strictObject({ kind: z.literal('fast'), ...common, embeddingDim: z.number().int().positive() }),
  /** Pre-LayerNorm transformer encoder, masked mean pooling, a dense projection. */
  z
    .strictObject({
      kind: z.literal('transformer'),
      ...common,
      width: z.number().int().positive(),
      layers: z.number().int().positive(),
      heads: z.number().int().positive(),
      ffnWidth: z.number().int().positive(),
    })
    .refine((a) => a.width % a.heads === 0, { message: 'width must be a multiple of heads', path: ['heads'] }),
]);
export type Architecture = z.infer<typeof ArchitectureSchema>;

export type View = 'query' | 'item';
