/*
 * bench/bm25: our BM25 against the JavaScript BM25 libraries on npm, on the
 * same corpus and queries in one run: SciFact (5,183 abstracts, 210 queries,
 * title + text), every query searched for the top 10, repeated. Prints QPS
 * of each and the ratio of ours to the fastest library, plus our nDCG@10.
 *
 * Then one shard of the corpus-scale run (`--shard-rows`, 62,500 generated
 * synset passages, as each of the 21M run's 336 shards) with 1,000 of its
 * paraphrased 12-word queries: MaxScore pruning against scoring every
 * posting, at the top 10 and the top 100, the two checked equal.
 *
 *   node dist/bench/bm25.js [--repeat N] [--shard-rows N] [--keep]
 */
import { seededRandom } from '../common/index.js';
import { loadSynsetGraph, paraphrasedQuery, readQueriesFile, writeSyntheticCorpus } from '../shards/index.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import MiniSearch from 'minisearch';
import { Bm25Builder } from '../bm25/index.js';
import { evaluateRun, parseQrels } from '../eval/index.js';
import { SHARED_DATA } from './repo.js';
import { benchScratch } from './scratch.js';

const require = createRequire(import.meta.url);

interface Doc {
  id: string;
  title: string;
  text: string;
}

function timeQueries(label: string, queries: string[], repeat: number, search: (q: string) => unknown[]): { label: string; qps: number } {
  // Warm-up: one untimed pass over every query (compiled code and the collector settled before the clock).
  for (const q of queries) search(q);
  const started = performance.now();
  let results = 0;
  for (let r = 0; r < repeat; r++) for (const q of queries) results += search(q).length;
  const seconds = (performance.now() - started) / 1000;
  if (results === 0) throw new Error(`${label} returned nothing`);
  return { label, qps: (queries.length * repeat) / seconds };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { repeat: { type: 'string', default: '5' }, 'shard-rows': { type: 'string', default: '62500' }, keep: { type: 'boolean', default: false } },
  });
  const repeat = Number(values.repeat);
  const pruning = pruningOnOneShard(Number(values['shard-rows']), values.keep);
  const dir = join(SHARED_DATA, 'scifact');
  const docs: Doc[] = readFileSync(join(dir, 'corpus.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const d = JSON.parse(l) as { _id: string; title: string; text: string };
      return { id: d._id, title: d.title, text: d.text };
    });
  const queries = readQueriesFile(join(dir, 'queries.jsonl'));
  const texts = queries.map((q) => q.text);

  let t = performance.now();
  const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
  docs.forEach((d, i) => builder.add(i, d.id, `${d.title} ${d.text}`));
  const ours = builder.build();
  const oursBuild = performance.now() - t;

  t = performance.now();
  const mini = new MiniSearch<Doc>({ fields: ['title', 'text'], storeFields: [] });
  mini.addAll(docs);
  const miniBuild = performance.now() - t;

  t = performance.now();
  const bm25 = require('wink-bm25-text-search') as () => WinkEngine;
  const nlp = require('wink-nlp-utils') as WinkNlpUtils;
  const wink = bm25();
  wink.defineConfig({ fldWeights: { title: 1, text: 1 }, bm25Params: { k1: 0.9, b: 0.4 } });
  wink.definePrepTasks([nlp.string.lowerCase, nlp.string.removeExtraSpaces, nlp.string.tokenize0, nlp.tokens.removeWords, nlp.tokens.stem]);
  docs.forEach((d, i) => wink.addDoc({ title: d.title, text: d.text }, i));
  wink.consolidate();
  const winkBuild = performance.now() - t;

  const results = [
    timeQueries('sci-cluster bm25', texts, repeat, (q) => ours.search(q, 10)),
    timeQueries('minisearch 7.2.0', texts, repeat, (q) => mini.search(q).slice(0, 10)),
    timeQueries('wink-bm25-text-search 3.1.2', texts, repeat, (q) => wink.search(q, 10)),
  ];
  // MaxScore against scoring every posting on SciFact's short postings (many query terms, few documents each).
  for (const q of texts)
    if (JSON.stringify(ours.search(q, 10)) !== JSON.stringify(ours.searchTermsExhaustive(ours.analyze(q), 10)))
      throw new Error(`MaxScore and every posting differ on SciFact query "${q}"`);
  const everyPosting = timeQueries('sci-cluster bm25, every posting', texts, repeat, (q) => ours.searchTermsExhaustive(ours.analyze(q), 10));
  const run = new Map(queries.map((q) => [q.id, ours.search(q.text, 10).map((h) => h.externalId)]));
  const metrics = evaluateRun(run, parseQrels(readFileSync(join(dir, 'qrels.tsv'), 'utf8')), { ndcg: [10], mrr: [10], recall: [10] });

  console.log(`SciFact: ${docs.length} documents, ${queries.length} queries × ${repeat}, top 10`);
  console.log(`build ms: ours ${oursBuild.toFixed(0)}, minisearch ${miniBuild.toFixed(0)}, wink ${winkBuild.toFixed(0)}`);
  for (const r of results) console.log(`${r.label.padEnd(30)} ${r.qps.toFixed(0).padStart(8)} QPS`);
  const fastest = Math.max(...results.slice(1).map((r) => r.qps));
  console.log(`ours / fastest JS library: ${(results[0]!.qps / fastest).toFixed(1)}x`);
  console.log(
    `${everyPosting.label.padEnd(30)} ${everyPosting.qps.toFixed(0).padStart(8)} QPS: MaxScore ${(results[0]!.qps / everyPosting.qps).toFixed(2)}x (results identical)`,
  );
  console.log(`our nDCG@10 on the ${metrics.queries} dev queries: ${metrics['nDCG@10']!.toFixed(4)} (published Lucene BM25 flat, all 300 queries: 0.679)`);
  console.log(`one generated shard: ${pruning.docs.toLocaleString('en-US')} synset passages, ${pruning.queries} paraphrased 12-word queries`);
  for (const p of pruning.points)
    console.log(
      `top ${String(p.k).padEnd(4)} every posting ${p.exhaustiveMs.toFixed(2)} ms, MaxScore ${p.prunedMs.toFixed(2)} ms a query: ${(p.exhaustiveMs / p.prunedMs).toFixed(1)}x (results identical)`,
    );
  console.log(
    JSON.stringify({
      bench: 'bm25',
      results,
      ratioToFastest: results[0]!.qps / fastest,
      everyPostingQps: everyPosting.qps,
      ndcg10: metrics['nDCG@10'],
      pruning,
    }),
  );
}

interface PruningPoint {
  k: number;
  exhaustiveMs: number;
  prunedMs: number;
}

/** MaxScore against every posting on one generated shard, each timed over the same queries after a warm-up; refuses to report if any result differs. */
function pruningOnOneShard(rows: number, keep: boolean): { docs: number; queries: number; points: PruningPoint[] } {
  const scratch = benchScratch('sci-bench-bm25-', keep);
  try {
    const tsv = join(scratch.dir, 'passages.tsv');
    writeSyntheticCorpus(tsv, { rows, kind: 'synsets', seed: 1 });
    const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
    const texts: string[] = [];
    readFileSync(tsv, 'utf8')
      .split('\n')
      .slice(1)
      .forEach((line) => {
        if (line === '') return;
        const [id, text, title] = line.split('\t') as [string, string, string];
        builder.add(texts.length, id, `${title} ${text}`);
        texts.push(text);
      });
    const index = builder.build();
    const { synonyms } = loadSynsetGraph();
    const random = seededRandom(7);
    const queries = Array.from({ length: 1000 }, () => index.analyze(paraphrasedQuery(texts[Math.floor(random() * texts.length)]!, synonyms, random).text));
    const time = (search: (terms: string[]) => unknown): number => {
      for (const terms of queries.slice(0, 50)) search(terms);
      const started = performance.now();
      for (const terms of queries) search(terms);
      return (performance.now() - started) / queries.length;
    };
    const points = [10, 100].map((k) => {
      for (const terms of queries)
        if (JSON.stringify(index.searchTerms(terms, k)) !== JSON.stringify(index.searchTermsExhaustive(terms, k)))
          throw new Error(`MaxScore and exhaustive search differ at top ${k} for ${terms.join(' ')}`);
      return { k, exhaustiveMs: time((terms) => index.searchTermsExhaustive(terms, k)), prunedMs: time((terms) => index.searchTerms(terms, k)) };
    });
    return { docs: index.docCount, queries: queries.length, points };
  } finally {
    scratch.done();
  }
}

interface WinkEngine {
  defineConfig(config: unknown): void;
  definePrepTasks(tasks: unknown[]): void;
  addDoc(doc: Record<string, string>, id: number): void;
  consolidate(): void;
  search(text: string, limit: number): unknown[];
}
interface WinkNlpUtils {
  string: { lowerCase: unknown; removeExtraSpaces: unknown; tokenize0: unknown };
  tokens: { removeWords: unknown; stem: unknown };
}

await main();
