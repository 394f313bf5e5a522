import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PipelineConfigSchema, summarizeSeeds, writeSeedSummary, type EvalResult, type PipelineState } from '../../../pipeline/index.js';
import { tempDir } from '../../support/paths.js';

const config = PipelineConfigSchema.parse({
  out: '/data/run',
  corpus: { passages: '/data/passages' },
  stages: { inBatch: { steps: 10 }, bm25: { steps: 10 }, dense: { rounds: 1, steps: 10 } },
});

function result(stage: string, split: string, steps: number | null, recall: number, mrr: number): EvalResult {
  return {
    stage,
    split,
    index: steps === null && stage === 'bm25' ? 'bm25' : 'flat',
    indexSet: `/i/${stage}`,
    checkpoint: steps === null ? null : `/c/${stage}`,
    trainedSteps: steps,
    queries: 100,
    passages: 1000,
    metrics: { 'Recall@10': recall, 'MRR@10': mrr, 'nDCG@10': (recall + mrr) / 2, 'Recall@100': 1 },
    latency: { p50Ms: 1, p99Ms: 2 },
    fingerprint: 'f',
    measuredAt: '2026-01-01T00:00:00Z',
  };
}

function state(seed: number, results: EvalResult[]): PipelineState {
  return {
    format: 'sci-cluster/pipeline-state@1',
    seed,
    out: `/data/run/seed-${seed}`,
    createdAt: '',
    updatedAt: '',
    finishedAt: '',
    totalSteps: 30,
    steps: [],
    results,
    best: null,
    drivers: [],
  };
}

test('mean ± sample std over seeds, by hand; rows in pipeline order; plotted points equal the summary', (t) => {
  const states = [
    state(1, [
      result('stage2', 'dev', 20, 0.5, 0.2),
      result('bm25', 'dev', null, 0.4, 0.2),
      result('stage1', 'dev', 10, 0.3, 0.1),
      result('stage1', 'test', 10, 0.31, 0.11),
    ]),
    state(2, [result('stage1', 'dev', 10, 0.5, 0.3), result('stage2', 'dev', 20, 0.6, 0.2), result('bm25', 'dev', null, 0.4, 0.2)]),
    state(3, [result('stage1', 'dev', 10, 0.4, 0.2), result('stage2', 'dev', 20, 0.7, 0.2), result('bm25', 'dev', null, 0.4, 0.2)]),
  ];
  const summary = summarizeSeeds(states, config);
  assert.deepEqual(
    summary.rows.map((r) => [r.stage, r.split, r.seeds]),
    [
      ['bm25', 'dev', 3],
      ['stage1', 'dev', 3],
      ['stage2', 'dev', 3],
      ['stage1', 'test', 1],
    ],
  );
  const stage1 = summary.rows[1]!;
  // Recall@10 0.3, 0.5, 0.4: mean 0.4, sample variance ((0.1)² + (0.1)² + 0) / 2 = 0.01.
  assert.ok(Math.abs(stage1.mean['Recall@10']! - 0.4) < 1e-12);
  assert.ok(Math.abs(stage1.std['Recall@10']! - 0.1) < 1e-12);
  assert.ok(Math.abs(summary.rows[2]!.std['MRR@10']!) < 1e-12, 'equal values: std 0');
  assert.ok(summary.rows[0]!.std['Recall@10']! < 1e-12);

  const dir = tempDir(t);
  const { html } = writeSeedSummary(dir, states, config);
  const page = readFileSync(html, 'utf8');
  assert.match(page, /0\.4000 ± 0\.1000/, 'the table shows mean ± std');
  const recallPlot = page.slice(page.indexOf('Recall@10 on dev'), page.indexOf('MRR@10 on dev'));
  const points = [...recallPlot.matchAll(/<title>([^<]+): ([0-9.]+), ([0-9.]+)<\/title>/g)].map((m) => [m[1], Number(m[2]), Number(m[3])]);
  assert.deepEqual(points, [
    ['trained (Recall@10)', 10, 0.4],
    ['trained (Recall@10)', 20, 0.6],
    ['bm25', 10, 0.4],
    ['bm25', 20, 0.4],
  ]);
});
