import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { tableFromIPC } from 'apache-arrow';
import { EnglishAnalyzer, loadBm25, type CorpusStats } from '../../bm25/index.js';
import { FaissIndex, setFaissThreads } from '../../faiss/index.js';
import { readArrowVectors, readNpy, writeNpy } from '../../vectors/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import { readJsonFile } from '../../storage/index.js';
import {
  bm25Candidates,
  denseCandidates,
  denseScore,
  hasAnswer,
  mergeCandidates,
  NegativesWriter,
  CandidatesWriter,
  openCandidates,
  readQuerySplit,
  type CandidateBatch,
  type OpenCandidates,
} from '../../mine/index.js';
import { encoderFor } from './encode-task.js';
import { passageText, passagesOf } from './passages.js';
import { ITEM_VIEW_COLUMNS } from './index-task.js';
import type { PoolResult, PoolTask } from './types.js';
import type { TaskCancel } from '../cancel-flag.js';

/*
 * The stages of a mine job, per shard or once:
 *   stats:   BM25 document frequencies of every query term in this shard;
 *   queries: (dense, once) the queries encoded by the query tower, for
 *            every shard's task to search with;
 *   mine:  this shard's top-K per query (dense with the query tower, or
 *          BM25 with the corpus-wide statistics summed from every shard);
 *   merge: every shard's candidates → the filtered negatives file.
 */

type StatsTask = Extract<PoolTask, { stage: 'stats' }>;
type QueriesTask = Extract<PoolTask, { stage: 'queries' }>;
type MineTask = Extract<PoolTask, { stage: 'mine' }>;
type MergeTask = Extract<PoolTask, { stage: 'merge' }>;

/** A shard's BM25 statistics of the query terms (the stats stage's file, read back by the merge of every shard's). */
const ShardStatsSchema = z.strictObject({
  docCount: z.number().int().nonnegative(),
  sumTotalTermFreq: z.number().nonnegative(),
  terms: z.array(z.string()),
  df: z.array(z.number().int().nonnegative()),
});

const analyzer = new EnglishAnalyzer();

function queryTermsOf(texts: readonly string[]): string[][] {
  return texts.map((t) => analyzer.analyze(t));
}

export async function runStats(task: StatsTask, cancel?: TaskCancel): Promise<PoolResult> {
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const bm25 = loadBm25(task.bm25Dir);
  cancel?.throwIfCancelled();
  const terms = [...new Set(queryTermsOf(split.texts).flat())].sort();
  const stats: z.infer<typeof ShardStatsSchema> = {
    docCount: bm25.docCount,
    sumTotalTermFreq: bm25.parts.sumTotalTermFreq,
    terms,
    df: terms.map((t) => bm25.df(t)),
  };
  writeFileSync(task.outFile, JSON.stringify(stats));
  return { rowsIn: split.ids.length, rowsWritten: split.ids.length, rowsRejected: 0, files: [{ path: task.outFile, role: 'bm25-stats', name: '' }] };
}

const QUERY_ENCODE_BATCH = 1024;

/** The split's queries encoded once by the query tower (.npy, in the split's order). */
export async function runQueries(task: QueriesTask, cancel?: TaskCancel): Promise<PoolResult> {
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const encoder = await encoderFor(task.encoder);
  const vectors = new Float32Array(split.ids.length * encoder.dim);
  for (let start = 0; start < split.ids.length; start += QUERY_ENCODE_BATCH) {
    cancel?.throwIfCancelled();
    const texts = split.texts.slice(start, start + QUERY_ENCODE_BATCH);
    vectors.set(encoder.encode(texts, 'query'), start * encoder.dim);
    task.progress?.postMessage({ rows: start + texts.length, total: split.ids.length });
  }
  writeNpy(task.outFile, vectors, encoder.dim);
  return { rowsIn: split.ids.length, rowsWritten: split.ids.length, rowsRejected: 0, files: [{ path: task.outFile, role: 'query-vectors', name: '' }] };
}

/** Corpus-wide statistics: every shard's counts summed (what one global BM25 index would hold). */
function corpusStats(files: readonly string[]): CorpusStats {
  const df = new Map<string, number>();
  let docCount = 0;
  let sumTotalTermFreq = 0;
  for (const file of files) {
    const s = readJsonFile(file, ShardStatsSchema);
    docCount += s.docCount;
    sumTotalTermFreq += s.sumTotalTermFreq;
    s.terms.forEach((t, i) => df.set(t, (df.get(t) ?? 0) + s.df[i]!));
  }
  return { docCount, sumTotalTermFreq, df: (term) => df.get(term) ?? 0 };
}

export async function runMine(task: MineTask, cancel?: TaskCancel): Promise<PoolResult> {
  setFaissThreads(1);
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const nq = split.ids.length;
  const positiveScores = new Float32Array(nq).fill(Number.NaN);
  // DPR-style sources: the shard's passage texts, to mark candidates that contain an answer.
  const texts = task.passageFile && split.answers.some((a) => a.length > 0) ? await shardTexts(task.passageFile) : null;
  let batches: AsyncIterable<CandidateBatch> | Iterable<CandidateBatch>;
  let higherIsBetter = true;
  if (task.source.kind === 'bm25') {
    const bm25 = loadBm25(task.source.bm25Dir);
    batches = bm25Candidates(bm25, queryTermsOf(split.texts), task.k, corpusStats(task.source.statsFiles), task.shardId, cancel?.signal);
  } else {
    const source = task.source;
    const encoded = readNpy(source.queryVectorsFile);
    if (encoded.count !== nq)
      throw new FatalTaskError(`${encoded.count} query vectors for ${nq} queries: the queries stage read another split`, { file: source.queryVectorsFile });
    const queries = encoded.data;
    const dim = encoded.dim;
    cancel?.throwIfCancelled();
    const index = await FaissIndex.load(source.indexFile);
    const metric = index.info.metric === 'l2' ? 'l2' : 'ip';
    higherIsBetter = metric === 'ip';
    // Row names and item-view vectors of this shard: passage ids for the file, positives' scores.
    const vectors = readArrowVectors(source.embeddingFile, ITEM_VIEW_COLUMNS);
    const externalIds = readUtf8Column(source.embeddingFile, 'externalId');
    const byRow = new Map<number, string>();
    for (let i = 0; i < vectors.count; i++) byRow.set(vectors.ids ? Number(vectors.ids[i]!) : i, externalIds[i]!);
    const positionOf = new Map(externalIds.map((id, i) => [id, i]));
    for (let q = 0; q < nq; q++) {
      for (const passage of split.positives[q]!) {
        const at = positionOf.get(passage);
        if (at === undefined) continue;
        const score = denseScore(queries.subarray(q * dim, (q + 1) * dim), vectors.data.subarray(at * vectors.dim, (at + 1) * vectors.dim), metric);
        const best = positiveScores[q]!;
        if (Number.isNaN(best) || (metric === 'ip' ? score > best : score < best)) positiveScores[q] = score;
      }
    }
    batches = denseCandidates(index, queries, dim, task.k, task.shardId, (row) => byRow.get(row) ?? '', {
      ...(source.nprobe ? { nprobe: source.nprobe } : {}),
      ...(source.efSearch ? { efSearch: source.efSearch } : {}),
      ...(cancel ? { signal: cancel.signal } : {}),
    });
  }
  const writer = new CandidatesWriter(task.outFile, { shard: task.shardId, higherIsBetter, queries: nq });
  let found = 0;
  try {
    for await (const batch of batches) {
      cancel?.throwIfCancelled();
      if (texts) {
        batch.lists.forEach((list, i) => {
          const answers = split.answers[batch.start + i]!;
          if (answers.length > 0) for (const c of list) c.hasAnswer = hasAnswer(texts.get(c.externalId) ?? '', answers);
        });
      }
      for (const list of batch.lists) found += list.length;
      writer.add(batch, positiveScores);
      task.progress?.postMessage({ rows: batch.start + batch.lists.length, total: nq });
    }
    writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
  return { rowsIn: nq, rowsWritten: found, rowsRejected: 0, files: [{ path: task.outFile, role: 'candidates', name: '' }] };
}

/** passage id → text for one shard (DPR-style has_answer marking). */
async function shardTexts(passageFile: string): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for await (const p of passagesOf(passageFile)) texts.set(p.externalId, passageText(p));
  return texts;
}

/** A Utf8 column of an Arrow file, in row order (the embedding shard's passage ids). */
function readUtf8Column(file: string, column: string): string[] {
  const col = tableFromIPC(readFileSync(file)).getChild(column);
  if (!col) throw new Error(`${file} has no column ${column}`);
  return col.toArray() as string[];
}

export async function runMerge(task: MergeTask, cancel?: TaskCancel): Promise<PoolResult> {
  const split = readQuerySplit(task.queriesFile, task.qrelsFile);
  const shards: OpenCandidates[] = [];
  const writer = new NegativesWriter(task.outFile);
  try {
    for (const f of task.candidateFiles) shards.push(await openCandidates(f));
    cancel?.throwIfCancelled();
    const account = await mergeCandidates(shards, { ids: split.ids, positives: split.positives }, task.k, task.filter, task.provenance, writer);
    cancel?.throwIfCancelled();
    writer.commit();
    writeFileSync(task.accountFile, `${JSON.stringify(account, null, 2)}\n`);
    return {
      rowsIn: account.queriesIn,
      rowsWritten: account.withNegatives,
      rowsRejected: account.withNone,
      files: [
        { path: task.outFile, role: 'negatives', name: '' },
        { path: task.accountFile, role: 'account', name: '' },
      ],
    };
  } catch (err) {
    writer.abort();
    throw err;
  } finally {
    await Promise.all(shards.map((s) => s.close()));
  }
}
