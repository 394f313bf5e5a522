import { parseContract } from '../common/index.js';
import { z } from 'zod';
import { isRelativeName, joinKey, sha256, type JobIntermediates, type Storage } from '../storage/index.js';
import { ManifestSchema, type Manifest } from './manifest.js';
import { ShardFormatError } from './errors.js';

/*
 * The one way to read a stored set's manifest.json (passages, embeddings,
 * indexes) through storage: parsed, checked against its kind's schema, every
 * file name relative to the set's folder. `shardFile` hands out a shard's
 * local path only after its checksum matched the manifest's.
 */

const count = z.number().int().nonnegative();
const sha = z.string().regex(/^[0-9a-f]{64}$/);
const fileName = z.string().min(1).refine(isRelativeName, { message: "expected a file name relative to the set's folder (no '..', not absolute)" });
const rows = { rowsIn: count, rowsWritten: count, rowsRejected: count };

/** The `format` of an encode job's output (also stamped in each embedding shard's metadata). */
export const EMBEDDING_SET_FORMAT = 'sci-cluster/embeddings@1';
/** The `format` of an index job's output. */
export const INDEX_SET_FORMAT = 'sci-cluster/indexes@1';

/**
 * The encoder an embedding set names (its job's encoder spec): what a query encoder is opened from.
 * Read by the API, evaluation and mining, so checked like every other field.
 */
export const EncoderDescriptionSchema = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('hashed-tfidf'), dim: count.optional() }),
  z.looseObject({ kind: z.literal('model'), path: z.string().min(1).max(4096) }),
]);
export type EncoderDescription = z.infer<typeof EncoderDescriptionSchema>;

/** `trained/trained.json` of an index set with a shared quantizer: the job whose train stage wrote it and the indexes it trained. */
export const TrainedListSchema = z.strictObject({ jobId: z.string().min(1).max(256), indexes: z.array(z.string().regex(/^[a-z0-9_-]+$/)) });

export const EmbeddingSetManifestSchema = z.looseObject({
  format: z.literal(EMBEDDING_SET_FORMAT),
  jobId: z.string(),
  ...rows,
  passages: z.string(),
  encoder: EncoderDescriptionSchema,
  dim: count,
  views: z.array(z.string()),
  /** Stored value type (sets written before it are float32). */
  dtype: z.enum(['f32', 'f16']).default('f32'),
  shards: z.array(z.strictObject({ id: count, path: fileName, rows: count, sha256: sha, bytes: count, firstRowId: count })),
});
export type EmbeddingSetManifest = z.infer<typeof EmbeddingSetManifestSchema>;

/** A shard of an index set, or a routed partition: its rows and files (role `faiss:<name>`, `bm25`, `ids:<name>`, …). */
const indexSetPart = z.strictObject({
  id: count,
  rows: count,
  files: z.array(z.strictObject({ role: z.string(), path: fileName, sha256: sha, bytes: count, buildMs: count.optional() })),
});

/** Serving parts beside the shards (routed partitions, graph groups): how many, the indexes they hold, their files. */
const servingParts = z.strictObject({ partitions: count, indexes: z.array(z.string()), parts: z.array(indexSetPart) });

export const IndexSetManifestSchema = z.looseObject({
  format: z.literal(INDEX_SET_FORMAT),
  jobId: z.string(),
  rowsIn: count,
  embeddings: z.string().nullable(),
  passages: z.string().nullable(),
  indexes: z.array(
    z.looseObject({
      name: z.string().regex(/^[a-z0-9_-]+$/),
      factory: z.string(),
      metric: z.enum(['ip', 'l2']),
      efSearch: z.number().int().positive().optional(),
      /** IVF: the nprobe a search without one uses (given, or picked by the index job). */
      nprobe: z.number().int().positive().optional(),
      /** SCI consistent indexing (lists from the query view). */
      dualView: z.boolean().optional(),
      /** Trained once for every shard (the job's sharedQuantizer): the trained, empty index every shard's was built from. */
      quantizer: z.strictObject({ path: fileName, sha256: sha, sampleRows: count }).optional(),
    }),
  ),
  bm25: z.looseObject({ passages: z.string(), k1: z.number(), b: z.number() }).nullable(),
  shards: z.array(indexSetPart),
  /** Routed IVF (the job's `routed` option): serving partitions, each holding some inverted lists of every shard. */
  routed: servingParts.optional(),
  /** One graph per serving group (the job's `graphGroups`): each part holds the HNSW indexes of a group of shards. */
  groups: servingParts.optional(),
});
export type IndexSetManifestRead = z.infer<typeof IndexSetManifestSchema>;

/** The `format` of a mine job's output: one negatives file with its account. */
export const NEGATIVES_SET_FORMAT = 'sci-cluster/negatives-set@1';

/** What a finished job leaves that only its own stages read: a mine job's per-shard files and merge parts, an index job's quantizer samples. */
export const FINISHED_JOB_INTERMEDIATES: readonly JobIntermediates[] = [
  { format: NEGATIVES_SET_FORMAT, folders: ['candidates', 'stats', 'queries', 'merged'] },
  { format: INDEX_SET_FORMAT, folders: ['sample'] },
];

export const NegativesSetManifestSchema = z.looseObject({
  format: z.literal(NEGATIVES_SET_FORMAT),
  jobId: z.string(),
  ...rows,
  indexSet: z.string(),
  queries: z.strictObject({ passages: z.string(), split: z.string() }),
  source: z.looseObject({ kind: z.enum(['bm25', 'dense']) }),
  k: count,
  stage: z.string(),
  checkpoint: z.strictObject({ id: z.string(), step: count }).nullable(),
  account: z.looseObject({ queriesIn: count, withNegatives: count, withNone: count, rows: count, noneReasons: z.record(z.string(), count) }),
  file: z.strictObject({ path: fileName, sha256: sha, bytes: count }),
});
export type NegativesSetManifest = z.infer<typeof NegativesSetManifestSchema>;

const SCHEMAS = {
  passages: ManifestSchema,
  embeddings: EmbeddingSetManifestSchema,
  indexes: IndexSetManifestSchema,
  negatives: NegativesSetManifestSchema,
} as const;
export type SetKind = keyof typeof SCHEMAS;
export type SetManifestOf<K extends SetKind> = K extends 'passages'
  ? Manifest
  : K extends 'embeddings'
    ? EmbeddingSetManifest
    : K extends 'negatives'
      ? NegativesSetManifest
      : IndexSetManifestRead;

/** Reads and validates `<key>/manifest.json` as a set of `kind`; errors name the file and field. */
export async function readSetManifest<K extends SetKind>(storage: Storage, key: string, kind: K): Promise<SetManifestOf<K>> {
  const file = joinKey(storage.checkKey(key), 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await storage.readText(file));
  } catch (err) {
    throw new ShardFormatError(`cannot read the ${kind} manifest: ${(err as Error).message}`, { file, cause: err });
  }
  const format = (raw as { format?: unknown } | null)?.format;
  // A set of another kind says so by its format first (not by the first field that happens to differ).
  const expected = SCHEMAS[kind].shape.format;
  if (!expected.safeParse(format).success) throw new ShardFormatError(`not a ${kind} set (format ${JSON.stringify(format)})`, { file, field: 'format' });
  return parseContract(SCHEMAS[kind], raw, { what: `invalid ${kind} manifest`, error: ShardFormatError, file }) as SetManifestOf<K>;
}

/**
 * The local path of one file of a set, after checking its size and SHA-256
 * against the manifest (a truncated or swapped file is refused, not read).
 */
export async function verifiedFile(storage: Storage, setKey: string, entry: { path: string; sha256: string; bytes: number }): Promise<string> {
  const key = joinKey(setKey, entry.path);
  const local = await storage.localPath(key);
  const actual = await sha256(local).catch((err: unknown) => {
    throw new ShardFormatError(`cannot read ${entry.path}: ${(err as Error).message}`, { file: key, cause: err });
  });
  if (actual.bytes !== entry.bytes || actual.sha256 !== entry.sha256)
    throw new ShardFormatError(
      `${entry.path} does not match the manifest (sha256 ${actual.sha256.slice(0, 12)}…, ${actual.bytes} bytes; expected ${entry.sha256.slice(0, 12)}…, ${entry.bytes} bytes)`,
      { file: key },
    );
  return local;
}

/** Shard `shardId` of a passage or embedding set, verified. */
export async function shardFile(storage: Storage, setKey: string, kind: 'passages' | 'embeddings', shardId: number): Promise<string> {
  const manifest = await readSetManifest(storage, setKey, kind);
  const shard = manifest.shards.find((s) => s.id === shardId);
  if (!shard) throw new ShardFormatError(`${kind} set ${setKey} has no shard ${shardId}`, { file: joinKey(setKey, 'manifest.json'), field: 'shards' });
  return verifiedFile(storage, setKey, shard);
}
