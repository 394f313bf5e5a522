import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ciTestCommits, gridCells, gridRecord, GridConfigSchema, type GridCell, type GridReport } from '../../../experiment/index.js';
import { acceptedFingerprints, planPipeline, resolvedPipelineConfig, type PipelineState } from '../../../pipeline/index.js';
import { captureProvenance, configFingerprint, recordCommit } from '../../../results/index.js';
import { FsStorage } from '../../../storage/index.js';
import { tempDir } from '../../support/paths.js';

/* A grid's record: each cell's resolved config fingerprint, the code of every cell-seed that ran, refused where a cell-seed ran another config. */

const CODE = { ...captureProvenance(), commit: 'e'.repeat(40), dirty: false };

/** Seed 1's finished pipeline state for a cell, its one driver run at CODE under the given resolved config. */
function writeSeedState(config: GridCell['config'], configFingerprint: string): void {
  const plan = planPipeline(config, 1);
  const state: PipelineState = {
    format: 'sci-cluster/pipeline-state@1',
    seed: 1,
    out: plan.seedDir,
    createdAt: '',
    updatedAt: '',
    finishedAt: '',
    totalSteps: 10,
    steps: [],
    results: [],
    best: null,
    drivers: [{ provenance: CODE, configFingerprint }],
  };
  mkdirSync(dirname(plan.stateFile), { recursive: true });
  writeFileSync(plan.stateFile, JSON.stringify(state));
}

test("a grid record names each cell's resolved config and the code that ran it; a cell-seed run under another config is refused", async (t) => {
  const out = tempDir(t);
  const grid = GridConfigSchema.parse({
    title: 't',
    out,
    corpus: { passages: join(out, 'p') },
    pipeline: { stages: { inBatch: { steps: 10 }, bm25: null } },
    axes: [{ name: 'w', key: 'train.objective.distanceWeight', values: [0, 0.6] }],
  });
  const cells = gridCells(grid);
  const writeState = (cellIndex: number, configFingerprint: string) => writeSeedState(cells[cellIndex]!.config, configFingerprint);
  const fingerprints = cells.map((cell) => configFingerprint(resolvedPipelineConfig(cell.config)));
  assert.notEqual(fingerprints[0], fingerprints[1], 'the axis value is part of the resolved config');
  writeState(0, fingerprints[0]!);
  writeState(1, fingerprints[0]!);
  const report = { rows: [], seeds: [1] } as unknown as GridReport;
  const options = { file: 'config/experiments/toy.yaml', grid, cells, seeds: [1], report, storage: new FsStorage('/'), command: 'sci experiment run toy.yaml' };
  await assert.rejects(gridRecord(options), /cell w=0\.6 seed 1 was run with resolved config/);

  writeState(1, fingerprints[1]!);
  const record = await gridRecord(options);
  assert.equal(record.kind, 'experiment');
  assert.equal(record.name, 'toy');
  const { out: _out, seed: _seed, ...measured } = grid;
  assert.deepEqual(record.config, { grid: measured, cells: { 'w=0': fingerprints[0], 'w=0.6': fingerprints[1] } });
  assert.equal(recordCommit(record), 'e'.repeat(40));
});

test("a grid cell's fingerprint does not depend on the grid's folder; runs recorded when it did are accepted, the record carrying today's", async (t) => {
  const gridAt = (out: string) =>
    GridConfigSchema.parse({
      title: 't',
      out,
      corpus: { passages: 'data/p' },
      pipeline: { stages: { inBatch: { steps: 10 }, bm25: null } },
      axes: [{ name: 'w', key: 'train.objective.distanceWeight', values: [0.6] }],
    });
  const here = tempDir(t);
  const [cell] = gridCells(gridAt(here));
  const [elsewhere] = gridCells(gridAt('/elsewhere/grid'));
  assert.equal(configFingerprint(resolvedPipelineConfig(cell!.config)), configFingerprint(resolvedPipelineConfig(elsewhere!.config)));
  assert.equal(resolvedPipelineConfig(cell!.config).sharedOut, join('..', '..', 'shared'), "the shared stages' place relative to the cell");
  const { today, earlier } = acceptedFingerprints(cell!.config);
  assert.equal(today, configFingerprint(resolvedPipelineConfig(cell!.config)));
  assert.notDeepEqual(earlier, acceptedFingerprints(elsewhere!.config).earlier, 'the earlier fingerprint named the folder');

  writeSeedState(cell!.config, earlier[0]!);
  const grid = gridAt(here);
  const report = { rows: [], seeds: [1] } as unknown as GridReport;
  const record = await gridRecord({
    file: 'toy.yaml',
    grid,
    cells: gridCells(grid),
    seeds: [1],
    report,
    storage: new FsStorage('/'),
    command: 'sci experiment run toy.yaml',
  });
  assert.deepEqual((record.config as { cells: Record<string, string> }).cells, { 'w=0.6': today });
});

test('a CI-test record stands for one training commit and one analysis commit, each clean', () => {
  const at = (commit: string, dirty = false) => ({ ...captureProvenance(), commit: commit.repeat(40), dirty });
  const record = (training: ReturnType<typeof at>[], analysis: ReturnType<typeof at>) =>
    ({ name: 'sci-ci-test', provenance: [...training, analysis], body: { code: { training, analysis } } }) as unknown as Parameters<typeof ciTestCommits>[0];
  assert.deepEqual(ciTestCommits(record([at('a')], at('b'))), { training: 'a'.repeat(40), analysis: 'b'.repeat(40) });
  assert.deepEqual(ciTestCommits(record([at('a')], at('a'))), { training: 'a'.repeat(40), analysis: 'a'.repeat(40) });
  assert.throws(() => ciTestCommits(record([at('a'), at('b')], at('b'))), /sci-ci-test \(checkpoints\) mixes code from 2 commits/);
  assert.throws(() => ciTestCommits(record([at('a')], at('b', true))), /sci-ci-test \(analysis\) ran on a dirty tree/);
  assert.deepEqual(ciTestCommits(record([at('a')], at('b', true)), { allowDirty: true }).analysis, 'b'.repeat(40));
});
