import { readFileSync } from 'node:fs';
import { tableFromIPC } from 'apache-arrow';
import { loadBm25, type CorpusStats } from '../../bm25/index.js';
import { FaissIndex, setFaissThreads } from '../../faiss/index.js';
import { FatalTaskError } from '../../jobs/index.js';
import { bm25Candidates, CandidatesWriter, denseCandidates, denseScore, hasAnswer, readQuerySplit, type CandidateBatch } from '../../mine/index.js';
import { readSetManifest, shardFile, ShardFormatError, verifiedFile } from '../../shards/index.js';
import { readJsonFile } from '../../storage/index.js';
import { readArrowVectors, readNpy } from '../../vectors/index.js';
import type { TaskCancel } from '../cancel-flag.js';
import { ITEM_VIEW_COLUMNS } from '../index/keys.js';
import { passageText, passagesOf } from '../passages.js';
import { defineStage, type PoolResult, type PoolTask } from '../stage.js';
import { bm25Dir, localMineFile, mineFolders, mineInputs, minedShards, mineKeys, queryTermsOf, ShardStatsSchema } from './inputs.js';

/*
 * mine job, stage 2 of 4, per shard: this shard's top-K per query, dense
 * with the query tower (the queries stage's vectors) or BM25 with the
 * corpus-wide statistics summed from every shard's stats; candidates that
 * contain one of a query's answers are marked (DPR's has_answer).
 */

export interface CandidatesTask extends PoolTask {
  stage: 'mine';
  shardId: number;
  queriesFile: string;
  qrelsFile: string;
  k: number;
  /** This shard's passages, to mark candidates that contain a query's answer; null = no answer matching. */
  passageFile: string | null;
  source:
    | { kind: 'bm25'; bm25Dir: string; statsFiles: string[] }
    | { kind: 'dense'; indexFile: string; embeddingFile: string; queryVectorsFile: string; nprobe?: number; efSearch?: number };
  outFile: string;
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

async function runCandidates(task: CandidatesTask, cancel?: TaskCancel): Promise<PoolResult> {
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
  if (!col) throw new ShardFormatError(`${file} has no column ${column}`, { file, field: column });
  return col.toArray() as string[];
}

export const candidatesStage = defineStage<'mine', CandidatesTask>({
  name: 'mine',
  job: 'mine',
  shardIds: minedShards,
  async prepare({ storage, task, spec, work }) {
    const { queriesFile, qrelsFile, set } = await mineInputs({ storage, spec });
    let source: CandidatesTask['source'];
    if (spec.source.kind === 'bm25') {
      const statsFiles = await Promise.all(set.shards.map((s) => storage.localPath(mineKeys.stats(spec.output, s.id))));
      source = { kind: 'bm25', bm25Dir: await bm25Dir(storage, spec, set, task.shardId, work), statsFiles };
    } else {
      const name = spec.source.index;
      const file = set.shards.find((s) => s.id === task.shardId)?.files.find((f) => f.role === `faiss:${name}`);
      if (!file || !set.embeddings) throw new FatalTaskError(`shard ${task.shardId} of ${spec.input} has no index "${name}" or no embedding set`);
      // Searched as it is served: the job's nprobe, else the index set's serving nprobe.
      const nprobe = spec.source.nprobe ?? set.indexes.find((i) => i.name === name)?.nprobe;
      source = {
        kind: 'dense',
        indexFile: await verifiedFile(storage, spec.input, file),
        embeddingFile: await shardFile(storage, set.embeddings, 'embeddings', task.shardId),
        queryVectorsFile: await storage.localPath(mineKeys.queries(spec.output)),
        ...(nprobe ? { nprobe } : {}),
        ...(spec.source.efSearch ? { efSearch: spec.source.efSearch } : {}),
      };
    }
    // The passages the index was built from: the BM25 set's, else the embedding set's.
    const passageSet = set.bm25?.passages ?? (set.embeddings ? (await readSetManifest(storage, set.embeddings, 'embeddings')).passages : null);
    const passageFile = spec.filter.answers && passageSet ? await shardFile(storage, passageSet, 'passages', task.shardId) : null;
    return {
      poolTask: {
        stage: 'mine',
        shardId: task.shardId,
        queriesFile,
        qrelsFile,
        k: spec.k,
        passageFile,
        source,
        outFile: localMineFile(work, 'candidates', task.shardId),
      },
      publishUnder: mineFolders.candidates(spec.output),
    };
  },
  run: runCandidates,
});
