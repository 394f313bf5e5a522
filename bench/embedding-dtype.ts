/**
 * bench/embedding-dtype: float16 against float32 embedding storage on WordNet, the same checkpoint.
 *
 *   node dist/bench/embedding-dtype.js --model CHECKPOINT [--keep]
 *
 * Encodes the whole built-in corpus twice with a trained checkpoint (dtype f32 and f16, in-process jobs),
 * builds Flat on each, searches the dev split's judged queries (encoded once, float32, by the query tower)
 * over every shard, and prints Recall@10/100, MRR@10 and nDCG@10 at four decimals for both, the bytes on
 * disk of each set, and the top-10 lists that differ. The baseline is float32 storage in the same run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJobLocally } from '../coordinator/index.js';
import { openTextEncoder } from '../encoder/index.js';
import { evaluateRun, loadJudgedQueries } from '../eval/index.js';
import { FaissIndex } from '../faiss/index.js';
import { readIdColumns } from '../shards/index.js';
import { FsStorage } from '../storage/index.js';
import { benchScratch } from './scratch.js';
import { ingestWordnet } from './wordnet.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const model = flag('--model');
if (!model) {
  process.stderr.write('usage: node dist/bench/embedding-dtype.js --model CHECKPOINT [--keep]\n');
  process.exit(2);
}
const scratch = benchScratch('sci-bench-dtype-', args.includes('--keep'));
const storage = new FsStorage('/');
try {
  const passages = join(scratch.dir, 'passages');
  const { manifest } = await ingestWordnet(passages, 4);
  const externalIds = new Map<bigint, string>();
  for (const shard of manifest.shards) {
    const { rowIds, externalIds: ids } = readIdColumns(join(passages, shard.path));
    rowIds.forEach((rowId, i) => externalIds.set(rowId, ids[i]!));
  }
  const { sample, qrels } = loadJudgedQueries({ queries: passages, split: 'dev' });
  const encoder = await openTextEncoder(model);
  const queryVectors = await encoder.encode(sample.texts, 'query');
  const results: Record<string, { bytes: number; metrics: Record<string, number>; top10: string[] }> = {};
  for (const dtype of ['f32', 'f16'] as const) {
    const embeddings = join(scratch.dir, `embeddings-${dtype}`);
    const started = performance.now();
    await runJobLocally({ kind: 'encode', input: passages, output: embeddings, encoder: { kind: 'model', path: model }, dtype }, storage, { threads: 2 });
    const indexes = join(scratch.dir, `indexes-${dtype}`);
    await runJobLocally({ kind: 'index', input: embeddings, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }] }, storage, {
      threads: 2,
    });
    const set = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as { shards: Array<{ bytes: number }> };
    // Every shard's top-100, merged by score: the whole corpus, as scatter-gather answers it.
    const perShard = await Promise.all(
      manifest.shards.map(async (shard) =>
        (await FaissIndex.load(join(indexes, `shard-${String(shard.id).padStart(5, '0')}`, 'flat.faiss'))).search(queryVectors, 100),
      ),
    );
    const run = new Map<string, string[]>();
    const top10: string[] = [];
    sample.ids.forEach((id, q) => {
      const hits = perShard.flatMap((r) => Array.from({ length: 100 }, (_, j) => ({ label: r.labels[q * 100 + j]!, score: r.distances[q * 100 + j]! })));
      hits.sort((a, b) => b.score - a.score || (a.label < b.label ? -1 : 1));
      const docs = hits
        .filter((h) => h.label >= 0n)
        .slice(0, 100)
        .map((h) => externalIds.get(h.label)!);
      run.set(id, docs);
      top10.push(docs.slice(0, 10).join(','));
    });
    results[dtype] = {
      bytes: set.shards.reduce((sum, s) => sum + s.bytes, 0),
      metrics: evaluateRun(run, qrels, { ndcg: [10], mrr: [10], recall: [10, 100] }),
      top10,
    };
    process.stderr.write(`${dtype}: encoded and indexed in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  const metrics = ['Recall@10', 'Recall@100', 'MRR@10', 'nDCG@10'];
  console.log(`WordNet dev (${sample.ids.length} judged queries over ${manifest.rowsWritten} passages), model ${model}`);
  console.log(`dtype  bytes        ${metrics.map((m) => m.padStart(10)).join(' ')}`);
  for (const dtype of ['f32', 'f16'] as const)
    console.log(`${dtype}    ${String(results[dtype]!.bytes).padEnd(12)} ${metrics.map((m) => results[dtype]!.metrics[m]!.toFixed(4).padStart(10)).join(' ')}`);
  const differ = results.f32!.top10.filter((list, q) => list !== results.f16!.top10[q]).length;
  console.log(`f16/f32 bytes ${(results.f16!.bytes / results.f32!.bytes).toFixed(3)}; top-10 lists that differ: ${differ} of ${sample.ids.length}`);
} finally {
  scratch.done();
}
