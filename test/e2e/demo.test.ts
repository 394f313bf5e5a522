import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../../shards/index.js';
import { passageLine } from '../../cli/search-cmd.js';
import { wordnetHeadline } from '../../cli/results-cmd.js';
import { allPassages } from '../support/shards.js';
import { REPO_ROOT, tempDir } from '../support/paths.js';
import { chromiumDom } from '../support/chromium.js';
import { assertPlotted, evalReportPoints, plottedPoints } from '../support/plots.js';

test('make demo: cluster, WordNet, training, cluster encode, every index type, scatter-gather evaluation, report', { timeout: 900_000 }, async (t) => {
  // A lighter run of the same script (fewer training steps, 64-d instead of 256-d, a 5k-passage training dev pool with 1,500 of its queries, fewer dev, sweep and latency queries) keeps its share of the suite small;
  // the full `make demo` is timed in the README.
  const out = join(tempDir(t), 'demo');
  const started = Date.now();
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'demo.sh')], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      SCI_DEMO_OUT: out,
      SCI_DEMO_TRAIN_STEPS: '100',
      SCI_DEMO_DIM: '64',
      SCI_DEMO_POOL: '5000',
      SCI_DEMO_TRAIN_EVAL_QUERIES: '1500',
      SCI_DEMO_EVAL_QUERIES: '800',
      SCI_DEMO_SWEEP_QUERIES: '200',
      SCI_DEMO_LATENCY_QUERIES: '50',
    },
    encoding: 'utf8',
    timeout: 890_000,
  });
  t.diagnostic(`demo took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /cluster up: NATS tls:\/\/127\.0\.0\.1:\d+ \(TLS, per-role nkeys in /);
  assert.match(result.stdout, /passages\s+in 117,791 = written 117,791 \+ rejected 0/);
  assert.match(result.stdout, /trained, best \(step \d+\)/);
  assert.match(result.stdout, /job-\S+: done → \S+embeddings\/manifest\.json/);
  assert.match(result.stdout, /serving \S+indexes: pid \d+ shards 0,2; pid \d+ shards 1,3; API http:\/\/127\.0\.0\.1:\d+/);
  for (const index of ['flat', 'ivf', 'ivfpq', 'hnsw', 'pq', 'lsh', 'bm25']) assert.match(result.stdout, new RegExp(`^${index}\\s+0\\.\\d{4}`, 'm'));
  assert.match(result.stdout, /== 7\. an ad-hoc query[^\n]*\nthe dog barked all night\n\s+1\. \d{8}-[nvasr]/);
  // The ad-hoc query's hits print their passage, read from the Arrow shard row the hit names.
  const adHoc = /\nthe dog barked all night\n\s+1\. \d{8}-[nvasr]\s+\S+\s+\(row (\d+), shard \d+\)\n\s+([^\n]+)\n/.exec(result.stdout);
  assert.ok(adHoc, 'the first hit is followed by its passage');
  const { manifest: passageManifest } = readManifest(join(out, 'passages'));
  const firstRow = (await allPassages(join(out, 'passages'), passageManifest)).find((p) => p.rowId === Number(adHoc[1]))!;
  assert.equal(adHoc[2], passageLine(firstRow.title, firstRow.text));
  assert.match(result.stdout, /Report: \S+report\.html/);
  // The last screen: the evaluation table with the hybrid row (report.json's figures), then the pipeline's measured line.
  const report = JSON.parse(readFileSync(join(out, 'report', 'report.json'), 'utf8')) as {
    indexes: Array<{ index: string; partialAnswers: number; sweep: unknown[]; metrics: Record<string, number> }>;
    hybrid: { dense: string; lexical: string; metrics: Record<string, number> } | null;
  };
  assert.deepEqual([report.hybrid?.dense, report.hybrid?.lexical], ['flat', 'bm25']);
  const hybridLine = /^hybrid\s+(0\.\d{4})\s+(0\.\d{4})\s+(0\.\d{4})\s+(0\.\d{4})\s+\(flat \+ bm25, reciprocal rank fusion\)$/m.exec(result.stdout);
  assert.ok(hybridLine, 'the hybrid row is printed');
  assert.deepEqual(
    hybridLine.slice(1).map(Number),
    ['Recall@10', 'Success@10', 'MRR@10', 'nDCG@10'].map((m) => Number(report.hybrid!.metrics[m]!.toFixed(4))),
  );
  const tail = result.stdout.trimEnd().split('\n').slice(-3);
  assert.equal(tail[0], wordnetHeadline(), "the pipeline's line, from its record, just before the end");
  const { manifest } = readManifest(join(out, 'passages'));
  assert.equal(manifest.shards.length, 4);
  const embeddings = JSON.parse(readFileSync(join(out, 'embeddings', 'manifest.json'), 'utf8')) as { views: string[]; encoder: { kind: string } };
  assert.equal(embeddings.encoder.kind, 'model', 'encoded with the trained checkpoint');
  assert.equal(report.indexes.length, 7);
  assert.ok(report.indexes.every((r) => r.partialAnswers === 0));
  assert.ok(report.indexes.find((r) => r.index === 'hnsw')!.sweep.length > 0);
  const html = join(out, 'report', 'report.html');
  const dom = chromiumDom(html);
  if (dom !== null) {
    assert.match(dom, /<body data-plots="3"/, 'the report renders its three plots');
    const { points, logX } = evalReportPoints(JSON.parse(readFileSync(join(out, 'report', 'report.json'), 'utf8')));
    assertPlotted(plottedPoints(dom), points, logX);
  }
  // IVF is served at the nprobe its index job picked (0.9 overlap with exact search on a held-out sample).
  const ivf = (report.indexes as Array<{ index: string; servingNprobe?: number | null }>).find((r) => r.index === 'ivf')!;
  assert.ok(ivf.servingNprobe && ivf.servingNprobe > 1, `IVF served at nprobe ${ivf.servingNprobe}`);
  assert.ok(existsSync(join(out, 'report', 'run.trec.flat')));
  assert.equal(existsSync(join(out, 'cluster', 'cluster.json')), false, 'the demo stops its cluster');
});
