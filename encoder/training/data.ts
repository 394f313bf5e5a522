import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openShardSet, passageText, readQueriesFile, readShardPassages, type Manifest } from '../../shards/index.js';
import { parseQrels, type Qrels } from '../../eval/index.js';
import { seededRandom } from '../../common/index.js';
import { TrainingDataError } from '../errors.js';

/*
 * Training data from a normalised shard set (any ingested source: the WordNet
 * split, BEIR qrels, DPR JSON): every passage's text, the queries, one
 * training pair per (query, relevant passage) of the train split, the dev
 * split's queries and judgments, and the hard negatives the source brought
 * (DPR's), behind a NegativeSource so mined ones can come in later.
 */

export interface Corpus {
  externalIds: string[];
  texts: string[];
  /** externalId → position in `texts`. */
  position: Map<string, number>;
}

export interface TrainingPair {
  queryId: string;
  query: string;
  /** Position of the relevant passage in the corpus. */
  positive: number;
}

export interface QuerySet {
  ids: string[];
  texts: string[];
  qrels: Qrels;
}

/** Hard negatives per training query, as corpus positions (positives already removed). */
export interface NegativeSource {
  readonly name: string;
  negativesOf(queryId: string): readonly number[];
  /** One negative drawn by the source's own rule (mined files mixed by weight); absent = uniform over `negativesOf`. */
  pick?(queryId: string, random: () => number): number | null;
}

export interface TrainingData {
  manifest: Manifest;
  corpus: Corpus;
  pairs: TrainingPair[];
  dev: QuerySet;
  /** Any split's queries and judgments (a held-out test split for the final figure). */
  querySet(split: string): QuerySet;
  /** Negatives the source came with (DPR hard_negative_ctxs …); empty for WordNet and BEIR. */
  sourceNegatives: NegativeSource;
}

/** The passages a corpus sample keeps: `named` ones always, others each with the same seeded chance, so about `size` in all. */
export interface CorpusSample {
  size: number;
  named: ReadonlySet<string>;
  seed: number;
}

export async function loadCorpus(shardSet: string, sample?: CorpusSample): Promise<{ manifest: Manifest; dir: string; corpus: Corpus }> {
  const { manifest, dir } = openShardSet(shardSet);
  const externalIds: string[] = [];
  const texts: string[] = [];
  const position = new Map<string, number>();
  const total = manifest.shards.reduce((n, s) => n + s.rows, 0);
  const sampling = sample !== undefined && sample.size < total;
  const chance = sampling ? Math.max(0, sample.size - sample.named.size) / Math.max(1, total - sample.named.size) : 1;
  const random = seededRandom(sample?.seed ?? 1);
  for (const shard of manifest.shards) {
    for await (const p of readShardPassages(dir, shard)) {
      // One draw per passage whether or not it is named, so the sample does not depend on which are.
      const drawn = random() < chance;
      if (sampling && !drawn && !sample.named.has(p.externalId)) continue;
      position.set(p.externalId, texts.length);
      externalIds.push(p.externalId);
      texts.push(passageText(p));
    }
  }
  return { manifest, dir, corpus: { externalIds, texts, position } };
}

function readQueries(dir: string, manifest: Manifest): Map<string, { text: string; split: string | null }> {
  if (!manifest.queries || manifest.queries.path === '')
    throw new TrainingDataError('the shard set has no queries (ingest a source with queries: wordnet, beir, dpr)', {
      file: join(dir, 'manifest.json'),
      field: 'queries',
    });
  const queries = new Map<string, { text: string; split: string | null }>();
  for (const q of readQueriesFile(join(dir, manifest.queries.path))) queries.set(q.id, { text: q.text, split: q.split });
  return queries;
}

function splitFile(dir: string, manifest: Manifest, kind: 'qrels' | 'negatives', split: string): string | null {
  const entry = manifest[kind]?.splits[split];
  return entry ? join(dir, entry.path) : null;
}

/** Every passage a judgment (any split) or a source negative names: a corpus sample keeps them all. */
function namedPassages(shardSet: string): Set<string> {
  const { manifest, dir } = openShardSet(shardSet);
  const named = new Set<string>();
  const files = [...Object.values(manifest.qrels?.splits ?? {}), ...Object.values(manifest.negatives?.splits ?? {})];
  for (const entry of files) {
    const file = join(dir, entry.path);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [queryId, passageId] = line.split('\t');
      if (passageId && queryId !== 'query-id') named.add(passageId);
    }
  }
  return named;
}

export async function loadTrainingData(
  shardSet: string,
  options: { trainSplit: string; devSplit: string; corpusSample?: number; seed?: number },
): Promise<TrainingData> {
  const sample = options.corpusSample === undefined ? undefined : { size: options.corpusSample, named: namedPassages(shardSet), seed: options.seed ?? 1 };
  const { manifest, dir, corpus } = await loadCorpus(shardSet, sample);
  const queries = readQueries(dir, manifest);
  const qrelsOf = (split: string): Qrels => {
    const file = splitFile(dir, manifest, 'qrels', split);
    if (!file) {
      const known = Object.keys(manifest.qrels?.splits ?? {});
      throw new TrainingDataError(`the shard set has no qrels for split "${split}" (it has: ${known.join(', ') || 'none'})`, {
        file: join(dir, 'manifest.json'),
        field: `qrels.splits.${split}`,
      });
    }
    return parseQrels(readFileSync(file, 'utf8'));
  };
  const trainQrels = qrelsOf(options.trainSplit);
  const pairs: TrainingPair[] = [];
  for (const [queryId, judged] of trainQrels) {
    const query = queries.get(queryId);
    if (!query) continue; // the ingest rejected qrels of unknown queries already
    for (const [passageId, grade] of judged) {
      const positive = corpus.position.get(passageId);
      if (grade > 0 && positive !== undefined) pairs.push({ queryId, query: query.text, positive });
    }
  }
  if (pairs.length === 0)
    throw new TrainingDataError(`split "${options.trainSplit}" has no (query, relevant passage) pairs`, { file: join(dir, 'manifest.json') });
  const querySet = (split: string): QuerySet => {
    const qrels = qrelsOf(split);
    const ids = [...qrels.keys()].filter((id) => queries.has(id));
    return { ids, texts: ids.map((id) => queries.get(id)!.text), qrels };
  };
  const dev = querySet(options.devSplit);
  const negativesFile = splitFile(dir, manifest, 'negatives', options.trainSplit);
  const sourceNegatives = negativesFile && existsSync(negativesFile) ? readNegatives(negativesFile, corpus, trainQrels) : emptyNegatives;
  return { manifest, corpus, pairs, dev, querySet, sourceNegatives };
}

export const emptyNegatives: NegativeSource = { name: 'none', negativesOf: () => [] };

/** `query-id corpus-id kind` rows; judged-relevant passages are never negatives. */
function readNegatives(file: string, corpus: Corpus, qrels: Qrels): NegativeSource {
  const byQuery = new Map<string, number[]>();
  for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
    const [queryId, passageId] = line.split('\t');
    if (!queryId || !passageId) continue;
    const position = corpus.position.get(passageId);
    if (position === undefined || (qrels.get(queryId)?.get(passageId) ?? 0) > 0) continue;
    let list = byQuery.get(queryId);
    if (!list) byQuery.set(queryId, (list = []));
    list.push(position);
  }
  return { name: 'source', negativesOf: (queryId) => byQuery.get(queryId) ?? [] };
}
