import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridCells, GridConfigSchema, meanStd } from '../../../experiment/index.js';
import { atEqualOverlap } from '../../../pipeline/index.js';
import type { IndexReport } from '../../../eval/index.js';

const base = {
  title: 't',
  out: '/tmp/grid',
  corpus: { passages: '/tmp/p' },
  pipeline: { stages: { inBatch: { steps: 10 }, bm25: null } },
  axes: [
    { name: 'w', key: 'train.objective.distanceWeight', values: [0, 0.6] },
    { name: 'aligner', key: 'train.objective.symmAligner', values: [null, { variant: 'B' }], labels: ['off', 'B'] },
  ],
};

test('grid cells: every combination, the last axis fastest, each a validated pipeline with shared baselines', () => {
  const cells = gridCells(GridConfigSchema.parse(base));
  assert.deepEqual(
    cells.map((c) => c.name),
    ['w=0,aligner=off', 'w=0,aligner=B', 'w=0.6,aligner=off', 'w=0.6,aligner=B'],
  );
  const cell = cells[3]!;
  assert.deepEqual(cell.config.train, { objective: { distanceWeight: 0.6, symmAligner: { variant: 'B' } } });
  assert.equal(cell.config.out, '/tmp/grid/cells/w=0.6,aligner=B');
  assert.equal(cell.config.sharedOut, '/tmp/grid/shared');
  assert.equal(cell.config.stages.bm25, null);
  // The base is not changed by a cell's values.
  assert.deepEqual(cells[0]!.config.train, { objective: { distanceWeight: 0, symmAligner: null } });
});

test('grid errors name the cell and the field', () => {
  assert.throws(
    () => gridCells(GridConfigSchema.parse({ ...base, axes: [{ name: 'k', key: 'stages.inBatch.steps', values: [10, -1] }] })),
    /cell k=-1: pipeline\.stages\.inBatch\.steps/,
  );
  assert.throws(() => GridConfigSchema.parse({ ...base, axes: [{ name: 'w', key: 'x', values: [1, 2], labels: ['a'] }] }), /1 labels for 2 values/);
});

test('HNSW distances at equal overlap: linear between the bracketing sweep points, by hand', () => {
  const sweep = [
    [8, 0.8, 400],
    [16, 0.9, 700],
    [32, 0.98, 1300],
  ].map(([value, overlap, ndis]) => ({
    param: 'efSearch' as const,
    value: value!,
    queries: 100,
    'Recall@10': overlap! / 2,
    'Success@10': 0,
    'annRecall@10': overlap!,
    ndisPerQuery: ndis!,
    p50Ms: 1,
  }));
  const report = { index: 'hnsw', factory: 'HNSW32,Flat', sweep } as unknown as IndexReport;
  // 0.95 is 5/8 of the way from 0.90 to 0.98: ndis 700 + 0.625 × 600 = 1075, efSearch 16 + 0.625 × 16 = 26.
  const at = atEqualOverlap(report, 0.95);
  assert.ok(Math.abs(at.ndisPerQuery! - 1075) < 1e-9 && Math.abs(at.efSearch! - 26) < 1e-9, JSON.stringify(at));
  assert.ok(Math.abs(at.recallAt10! - (0.45 + 0.625 * 0.04)) < 1e-9);
  assert.equal(atEqualOverlap(report, 0.7).ndisPerQuery, 400, 'reached at the first point: read there');
  const never = atEqualOverlap(report, 0.99);
  assert.equal(never.ndisPerQuery, null);
  assert.equal(never.maxOverlap, 0.98);
});

test('mean and sample standard deviation', () => {
  const m = meanStd([1, 2, 3, 4]);
  assert.equal(m.mean, 2.5);
  assert.ok(Math.abs(m.std - Math.sqrt(5 / 3)) < 1e-12);
  assert.deepEqual(meanStd([7]), { mean: 7, std: 0, n: 1 });
  assert.equal(meanStd([]).n, 0);
});
