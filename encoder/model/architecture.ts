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
