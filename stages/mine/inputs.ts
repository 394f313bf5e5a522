import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { EnglishAnalyzer } from '../../bm25/index.js';
import { QUERY_BATCH, type MineAccount } from '../../mine/index.js';
import { FatalTaskError, JobError } from '../../jobs/index.js';
import { readSetManifest, verifiedFile } from '../../shards/index.js';
import { joinKey, linkFiles, sha256, type Storage } from '../../storage/index.js';
import { shardName, type JobSpecOf, type PoolResult, type StageContext } from '../stage.js';

/*
 * What the stages of a mine job share: where each stage's intermediate files
 * live (deterministic keys: a rerun overwrites its own), the judged queries
 * of the split mined, and a shard's BM25 files.
 */

export type MineSpec = JobSpecOf<'mine'>;

const mineFiles = {
  stats: (shardId: number) => `shard-${shardName(shardId)}.json`,
  candidates: (shardId: number) => `shard-${shardName(shardId)}.arrow`,
  queries: 'query-vectors.npy',
  mergedPart: (part: number) => `part-${shardName(part)}.arrow`,
  mergedAccount: (part: number) => `part-${shardName(part)}.json`,
};

/** The folders each stage publishes into, under the job's output. */
export const mineFolders = {
  stats: (output: string) => joinKey(output, 'stats'),
  candidates: (output: string) => joinKey(output, 'candidates'),
  queries: (output: string) => joinKey(output, 'queries'),
  merged: (output: string) => joinKey(output, 'merged'),
};

/** Deterministic keys of a mine job's intermediate files. */
export const mineKeys = {
  stats: (output: string, shardId: number) => joinKey(mineFolders.stats(output), mineFiles.stats(shardId)),
  candidates: (output: string, shardId: number) => joinKey(mineFolders.candidates(output), mineFiles.candidates(shardId)),
  queries: (output: string) => joinKey(mineFolders.queries(output), mineFiles.queries),
  mergedPart: (output: string, part: number) => joinKey(mineFolders.merged(output), mineFiles.mergedPart(part)),
  mergedAccount: (output: string, part: number) => joinKey(mineFolders.merged(output), mineFiles.mergedAccount(part)),
};

/** Their names in a task's work folder (what the pool writes and the runner publishes). */
export const localMineFile = (work: string, file: 'stats' | 'candidates', shardId: number) => join(work, mineFiles[file](shardId));
export const localQueryVectors = (work: string) => join(work, mineFiles.queries);
export const localMergedPart = (work: string, part: number) => ({
  negatives: join(work, mineFiles.mergedPart(part)),
  account: join(work, mineFiles.mergedAccount(part)),
});

/** A shard's BM25 statistics of the query terms (the stats stage's file, read back by the merge of every shard's). */
export const ShardStatsSchema = z.strictObject({
  docCount: z.number().int().nonnegative(),
  sumTotalTermFreq: z.number().nonnegative(),
  terms: z.array(z.string()),
  df: z.array(z.number().int().nonnegative()),
});

const analyzer = new EnglishAnalyzer();

export function queryTermsOf(texts: readonly string[]): string[][] {
  return texts.map((t) => analyzer.analyze(t));
}

/** A local copy of a set's file after its SHA-256 matched the manifest's (query and qrels files record no size). */
async function checkedFile(storage: Storage, setKey: string, path: string, expected: string): Promise<string> {
  const local = await storage.localPath(joinKey(setKey, path));
  const actual = await sha256(local);
  if (actual.sha256 !== expected) throw new FatalTaskError(`${path} of ${setKey} does not match its manifest's sha256`, { file: joinKey(setKey, path) });
  return local;
}

/** The split's queries and qrels as checked local files, and the index set mined. */
export async function mineInputs({ storage, spec }: Pick<StageContext<MineSpec>, 'storage' | 'spec'>) {
  const passages = await readSetManifest(storage, spec.queries.passages, 'passages');
  const qrels = passages.qrels?.splits[spec.queries.split];
  if (!passages.queries || !qrels)
    throw new FatalTaskError(`passage set ${spec.queries.passages} has no queries with qrels for split "${spec.queries.split}"`, { field: 'queries.split' });
  return {
    queriesFile: await checkedFile(storage, spec.queries.passages, passages.queries.path, passages.queries.sha256),
    qrelsFile: await checkedFile(storage, spec.queries.passages, qrels.path, qrels.sha256),
    set: await readSetManifest(storage, spec.input, 'indexes'),
  };
}

/** A shard's BM25 files, checked against the index set's manifest and linked into one local folder. */
export async function bm25Dir(storage: Storage, spec: MineSpec, set: Awaited<ReturnType<typeof mineInputs>>['set'], shardId: number, work: string) {
  const shard = set.shards.find((s) => s.id === shardId);
  if (!shard) throw new FatalTaskError(`index set ${spec.input} has no shard ${shardId}`);
  const files = shard.files.filter((f) => f.role === 'bm25');
  if (files.length === 0) throw new FatalTaskError(`shard ${shardId} of ${spec.input} has no BM25 index`);
  for (const file of files) await verifiedFile(storage, spec.input, file);
  const dir = join(work, 'bm25');
  await linkFiles(
    storage,
    files.map((f) => ({ key: joinKey(spec.input, f.path), name: f.path.split('/').pop()! })),
    dir,
  );
  return dir;
}

/** The index set's shards (one task each for the per-shard stages), checked for what the job's source needs. */
export async function minedShards(storage: Storage, spec: MineSpec): Promise<number[]> {
  const set = await readSetManifest(storage, spec.input, 'indexes');
  if (spec.source.kind === 'bm25' && !set.bm25) throw new JobError(`index set ${spec.input} has no BM25 index to mine with`, { field: 'source' });
  if (spec.source.kind === 'dense') {
    const name = spec.source.index;
    if (!set.indexes.some((i) => i.name === name))
      throw new JobError(`index set ${spec.input} has no dense index "${name}" (it has: ${set.indexes.map((i) => i.name).join(', ') || 'none'})`, {
        field: 'source.index',
      });
    if (!set.embeddings) throw new JobError(`index set ${spec.input} names no embedding set, so no query encoder`, { field: 'input' });
  }
  return set.shards.map((s) => s.id);
}

/**
 * How many parts the merge is split into: one per shard (so the merge scales out with the
 * per-shard stages), but no more than the split has batches of queries (an empty part would
 * only cost a task). From the manifests, so every planner and the concat task agree.
 */
export async function mergeParts(storage: Storage, spec: MineSpec): Promise<number> {
  const shards = (await minedShards(storage, spec)).length;
  const passages = await readSetManifest(storage, spec.queries.passages, 'passages');
  const queries = passages.queries?.splits[spec.queries.split] ?? 0;
  return Math.max(1, Math.min(shards, Math.ceil(queries / QUERY_BATCH)));
}

/** Writes a merge's account beside its negatives and reports both: queries in = with negatives + with none. */
export function writeAccountResult(account: MineAccount, files: { negatives: string; account: string }, part: boolean): PoolResult {
  writeFileSync(files.account, `${JSON.stringify(account, null, 2)}\n`);
  return {
    rowsIn: account.queriesIn,
    rowsWritten: account.withNegatives,
    rowsRejected: account.withNone,
    files: [
      { path: files.negatives, role: part ? 'negatives-part' : 'negatives', name: '' },
      { path: files.account, role: part ? 'account-part' : 'account', name: '' },
    ],
  };
}
