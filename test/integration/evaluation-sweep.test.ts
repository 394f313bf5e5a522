import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { loadJudgedQueries, recallAtK } from '../../eval/index.js';
import { openIndexSet } from '../../search/index.js';
import { evaluateIndexes } from '../../eval/index.js';
import { writeEvalReport, type EvalReport } from '../../report/index.js';
import { wordnetFixture } from '../support/wordnet-fixture.js';
import { LoopbackSearch } from '../support/served-set.js';
import { tempDir } from '../support/paths.js';
import { chromiumDom } from '../support/chromium.js';
import { assertPlotted, evalReportPoints, plottedPoints } from '../support/plots.js';

/*
 * The report's sweeps against their own ground truth, on real indexes served
 * through scatter-gather (WordNet, 4 shards, 64-d baseline embeddings):
 * - IVF64,Flat at nprobe = 64 scans every list, so its Recall@10 equals
 *   Flat's on the same queries; HNSW at the largest efSearch comes within 0.01;
 * - each sweep point's mean is over the sweep's own queries (the count beside it);
 * - the IVF index is served at the nprobe the index job picked on its
 *   held-out sample (the smallest reaching 0.9 overlap with exact search);
 * - the rendered report draws every point where report.json puts it.
 */

test('sweep ends equal exact search on the same queries; IVF served at the picked nprobe; the report draws report.json', { timeout: 600_000 }, async (t) => {
  const dir = tempDir(t, 'sci-sweep-');
  const search = await LoopbackSearch.start(t, 'sweep-test');
  const storage = new FsStorage('/');
  const { passages, embeddings } = await wordnetFixture(dir, 4, { embeddings: true, dim: 64 });
  const indexes = join(dir, 'indexes');
  await runJobLocally(
    {
      kind: 'index',
      input: embeddings!,
      output: indexes,
      indexes: [
        { name: 'flat', factory: 'Flat', metric: 'ip' },
        { name: 'ivf', factory: 'IVF64,Flat', metric: 'ip' },
        { name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip' },
      ],
    },
    storage,
    { threads: 2 },
  );

  // The serving nprobe: smallest on the pooled held-out curve reaching 0.9; the curve ends at exact search.
  const set = await openIndexSet(storage, indexes);
  const ivfSpec = set.manifest.indexes.find((i) => i.name === 'ivf') as {
    nprobe?: number;
    nprobeTuning?: { target: number; queries: number; curve: Array<{ nprobe: number; overlap: number }> };
  };
  const tuning = ivfSpec.nprobeTuning!;
  assert.equal(tuning.target, 0.9);
  assert.equal(tuning.queries, 4 * 256);
  assert.deepEqual(
    tuning.curve.map((p) => p.nprobe),
    [1, 2, 4, 8, 16, 32, 64],
  );
  const at = tuning.curve.findIndex((p) => p.nprobe === ivfSpec.nprobe);
  assert.ok(tuning.curve[at]!.overlap >= 0.9, `picked nprobe ${ivfSpec.nprobe} reaches ${tuning.curve[at]!.overlap}`);
  assert.ok(at === 0 || tuning.curve[at - 1]!.overlap < 0.9, 'and is the smallest that does');
  assert.ok(tuning.curve.at(-1)!.overlap > 0.99, `every list scanned is exact search (${tuning.curve.at(-1)!.overlap})`);
  assert.equal(set.manifest.indexes.find((i) => i.name === 'flat')!.nprobe, undefined);
  t.diagnostic(`serving nprobe ${ivfSpec.nprobe}: ${tuning.curve.map((p) => `${p.nprobe}:${p.overlap.toFixed(3)}`).join(' ')}`);

  const service = await search.serve(storage, indexes, 4);

  const { sample, qrels } = loadJudgedQueries({ queries: passages, split: 'dev', maxQueries: 1000 });
  const sweepQueries = 300;
  const { reports, runs } = await evaluateIndexes(service, ['flat', 'ivf', 'hnsw'], sample, qrels, {
    k: 100,
    batchSize: 128,
    latencyQueries: 20,
    sweep: true,
    sweepQueries,
  });
  const byName = new Map(reports.map((r) => [r.index, r]));
  // Flat's Recall@10 on the sweep's queries, by hand from its run.
  const flatRun = runs.get('flat')!;
  const sweepIds = sample.ids.slice(0, sweepQueries);
  const flatOnSweep =
    sweepIds.reduce(
      (s, id) =>
        s +
        recallAtK(
          flatRun.get(id)!.map((h) => h.docId),
          qrels.get(id)!,
          10,
        ),
      0,
    ) / sweepIds.length;
  const ivf = byName.get('ivf')!;
  const last = ivf.sweep.at(-1)!;
  assert.equal(last.value, 64);
  assert.equal(last.queries, sweepQueries, 'the point is a mean over the sweep queries');
  assert.ok(Math.abs(last['Recall@10'] - flatOnSweep) < 1e-12, `IVF at nprobe = nlist: ${last['Recall@10']} vs Flat ${flatOnSweep}`);
  assert.ok(last['annRecall@10']! > 0.999, `overlap with Flat at nprobe = nlist: ${last['annRecall@10']}`);
  const hnswLast = byName.get('hnsw')!.sweep.at(-1)!;
  assert.equal(hnswLast.value, 256);
  assert.ok(Math.abs(hnswLast['Recall@10'] - flatOnSweep) <= 0.01, `HNSW at efSearch 256: ${hnswLast['Recall@10']} vs Flat ${flatOnSweep}`);
  // Whole-sample rows: over the 1000 judged queries, IVF served at the picked nprobe on every shard.
  assert.equal(byName.get('flat')!.metrics.queries, 1000);
  assert.equal(ivf.perQuery.nlist, ivfSpec.nprobe! * 4, 'lists scanned per query: the serving nprobe on each of 4 shards');
  t.diagnostic(
    `Flat R@10 ${byName.get('flat')!.metrics['Recall@10']!.toFixed(4)}; IVF at nprobe ${ivfSpec.nprobe} ${ivf.metrics['Recall@10']!.toFixed(4)}; sweep ends: IVF ${last['Recall@10'].toFixed(4)}, HNSW ${hnswLast['Recall@10'].toFixed(4)}, Flat on the same ${sweepQueries} queries ${flatOnSweep.toFixed(4)}`,
  );

  const report: EvalReport = {
    createdAt: new Date().toISOString(),
    indexSet: indexes,
    queries: { source: passages, count: sample.ids.length, split: 'dev' },
    k: 100,
    shards: 4,
    environment: { node: process.version },
    indexes: reports,
  };
  const { html } = writeEvalReport(join(dir, 'report'), report);
  const dom = chromiumDom(html);
  if (dom === null) {
    t.diagnostic('chromium is not installed: the plotted points were not checked');
    return;
  }
  const { points, logX } = evalReportPoints(JSON.parse(JSON.stringify(report)) as Parameters<typeof evalReportPoints>[0]);
  assertPlotted(plottedPoints(dom), points, logX);
});
