import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTrecRun } from '../../eval/index.js';
import { runSci } from '../support/cli.js';
import { needsSharedData, SHARED_DATA, tempDir } from '../support/paths.js';

test('sci index build / search on siftsmall: recall, counters, TREC run', { skip: needsSharedData('siftsmall'), timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const sift = join(SHARED_DATA, 'siftsmall');
  const index = join(dir, 'ivf.index');
  const build = await runSci([
    'index',
    'build',
    '--factory',
    'IVF32,Flat',
    '--metric',
    'l2',
    '--vectors',
    join(sift, 'siftsmall_base.fvecs'),
    '--out',
    index,
    '--json',
  ]);
  assert.equal(build.code, 0, build.stderr);
  const record = JSON.parse(build.stdout) as { ntotal: number; kind: string; memoryBytes: number };
  assert.deepEqual([record.ntotal, record.kind], [10_000, 'ivf']);
  const search = async (nprobe: number) => {
    const r = await runSci([
      'index',
      'search',
      '--index',
      index,
      '--queries',
      join(sift, 'siftsmall_query.fvecs'),
      '--k',
      '10',
      '--param',
      `nprobe=${nprobe}`,
      '--ground-truth',
      join(sift, 'siftsmall_groundtruth.ivecs'),
      '--run',
      join(dir, `run-${nprobe}.txt`),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { 'recall@10': number; perQuery: { ndis: number; nlist: number }; touchRate: number; results: unknown[] };
  };
  const low = await search(1);
  const high = await search(32);
  assert.equal(high['recall@10'], 1);
  assert.ok(low['recall@10'] < high['recall@10']);
  assert.equal(low.perQuery.nlist, 1);
  assert.ok(low.perQuery.ndis < high.perQuery.ndis);
  assert.equal(high.touchRate, 1);
  const run = parseTrecRun(readFileSync(join(dir, 'run-32.txt'), 'utf8'));
  assert.equal(run.size, 100);
  assert.equal(run.get('1')?.length, 10);

  const bad = await runSci(['index', 'search', '--index', index, '--queries', join(sift, 'siftsmall_query.fvecs'), '--param', 'nprobe=0']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--param expects nprobe=N or efSearch=N/);
  const wrongDim = await runSci(['index', 'build', '--factory', 'Flat', '--vectors', join(sift, 'siftsmall_groundtruth.ivecs'), '--out', join(dir, 'x.index')]);
  assert.equal(wrongDim.code, 1);
  assert.match(wrongDim.stderr, /unsupported vector file type/);
});

test(
  'sci bm25 build / search on SciFact dev queries: nDCG@10 near the published Lucene figure',
  { skip: needsSharedData('scifact'), timeout: 120_000 },
  async (t) => {
    const dir = tempDir(t);
    const scifact = join(SHARED_DATA, 'scifact');
    const out = join(dir, 'bm25');
    const build = await runSci(['bm25', 'build', '--input', scifact, '--out', out, '--shards', '3', '--json']);
    assert.equal(build.code, 0, build.stderr);
    assert.equal((JSON.parse(build.stdout) as { docCount: number }).docCount, 5183);
    const search = await runSci([
      'bm25',
      'search',
      '--index',
      out,
      '--queries',
      join(scifact, 'queries.jsonl'),
      '--k',
      '100',
      '--qrels',
      join(scifact, 'qrels.tsv'),
      '--run',
      join(dir, 'run.txt'),
      '--json',
    ]);
    assert.equal(search.code, 0, search.stderr);
    const report = JSON.parse(search.stdout) as { metrics: Record<string, number> };
    const ndcg = report.metrics['nDCG@10']!;
    t.diagnostic(
      `SciFact dev (${report.metrics.queries} queries) BM25 nDCG@10 ${ndcg.toFixed(4)}, Recall@100 ${report.metrics['Recall@100']!.toFixed(4)}; published Lucene flat (300 queries) 0.679`,
    );
    assert.equal(report.metrics.queries, 210);
    assert.ok(Math.abs(ndcg - 0.679) < 0.05, `nDCG@10 ${ndcg}`);
    assert.equal(parseTrecRun(readFileSync(join(dir, 'run.txt'), 'utf8')).size, 210);
  },
);
