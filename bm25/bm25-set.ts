import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { readManifest, readShardPassages } from '../shards/index.js';
import { Bm25Builder } from './bm25-builder.js';
import { loadBm25, saveBm25 } from './bm25-store.js';
import { mergeCorpusStats } from './corpus-stats.js';
import type { Bm25Hit, Bm25Index, Bm25Params, CorpusStats } from './bm25-index.js';
import { Bm25IndexError } from './errors.js';
import { tempPathFor } from '../common/index.js';

/*
 * One BM25 index per passage shard (the unit a worker builds and serves),
 * described by a manifest. Documents are indexed "flat": title + " " + text,
 * as Pyserini indexes BEIR.
 */

export const BM25_SET_FORMAT = 'sci-cluster/bm25-set@1';

const SetManifestSchema = z.strictObject({
  format: z.literal(BM25_SET_FORMAT),
  passages: z.string(),
  params: z.strictObject({ k1: z.number(), b: z.number() }),
  docCount: z.number().int().nonnegative(),
  shards: z.array(
    z.strictObject({ id: z.number().int().nonnegative(), path: z.string(), docs: z.number().int().nonnegative(), firstRowId: z.number().int().nonnegative() }),
  ),
});

export interface Bm25Set {
  dir: string;
  shards: Bm25Index[];
  /** Corpus-wide statistics (summed over shards). */
  corpusStats: CorpusStats;
}

export interface BuildBm25Options {
  params?: Bm25Params;
  onShard?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export async function buildBm25FromShards(
  passagesDir: string,
  outDir: string,
  options: BuildBm25Options = {},
): Promise<{ manifestPath: string; docCount: number; shards: number }> {
  const { manifest, dir } = readManifest(passagesDir);
  const params = options.params ?? { k1: 0.9, b: 0.4 };
  mkdirSync(outDir, { recursive: true });
  const entries = [];
  for (const shard of manifest.shards) {
    const builder = new Bm25Builder(params);
    for await (const p of readShardPassages(dir, shard, options.signal ? { signal: options.signal } : {})) {
      builder.add(p.rowId, p.externalId, p.title === '' ? p.text : `${p.title} ${p.text}`);
    }
    const path = `shard-${String(shard.id).padStart(5, '0')}`;
    saveBm25(builder.build(), join(outDir, path));
    entries.push({ id: shard.id, path, docs: builder.documents, firstRowId: shard.firstRowId });
    options.onShard?.(entries.length, manifest.shards.length);
  }
  const docCount = entries.reduce((sum, e) => sum + e.docs, 0);
  const setManifest = { format: BM25_SET_FORMAT, passages: relative(resolve(outDir), resolve(dir)), params, docCount, shards: entries };
  const manifestPath = join(outDir, 'manifest.json');
  const temp = tempPathFor(manifestPath);
  writeFileSync(temp, `${JSON.stringify(setManifest, null, 2)}\n`);
  renameSync(temp, manifestPath);
  return { manifestPath, docCount, shards: entries.length };
}

export function openBm25Set(dir: string): Bm25Set {
  const path = join(dir, 'manifest.json');
  let parsed;
  try {
    parsed = SetManifestSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new Bm25IndexError(`not a BM25 index set: ${(err as Error).message}`, { file: path, cause: err });
  }
  const shards = parsed.shards.map((s) => loadBm25(join(dir, s.path)));
  return { dir, shards, corpusStats: mergeCorpusStats(shards) };
}

/**
 * Searches every shard and merges to the global top k (score, then row id).
 * `stats: 'corpus'` (default) makes the result equal one global index's;
 * 'shard' scores each shard with its own statistics.
 */
export function searchBm25Set(set: Bm25Set, query: string, k: number, options: { stats?: 'corpus' | 'shard' } = {}): Bm25Hit[] {
  const useCorpus = (options.stats ?? 'corpus') === 'corpus';
  const terms = set.shards[0]?.analyze(query) ?? [];
  const hits = set.shards.flatMap((shard) => shard.searchTerms(terms, k, useCorpus ? set.corpusStats : shard.localStats()));
  return hits.sort((a, b) => b.score - a.score || a.rowId - b.rowId).slice(0, k);
}
