import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadGridConfig } from '../../../cli/experiment-cmd.js';
import { gridCells, readGridRecord } from '../../../experiment/index.js';
import { resolvedPipelineConfig } from '../../../pipeline/index.js';
import { configFingerprint, recordCommit } from '../../../results/index.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';

/*
 * The README's grid tables come from docs/results/experiment-<grid>.json
 * (readme-pipeline.test.ts checks the rendering). Here: each record ran at one
 * clean commit, every cell of its grid over all its seeds, and each cell's
 * resolved config is the one config/experiments/<grid>.yaml gives today with
 * today's defaults, so HEAD reproduces the table with the record's command.
 */

const GRIDS = [
  { yaml: 'sci.yaml', record: 'experiment-sci.json' },
  { yaml: 'thesis.yaml', record: 'experiment-thesis.json' },
];

for (const { yaml, record: file } of GRIDS) {
  test(`docs/results/${file}: every cell of config/experiments/${yaml} as it resolves today, every seed, one clean commit`, () => {
    const record = readGridRecord(join(REPO, 'docs', 'results', file));
    assert.match(recordCommit(record), /^[0-9a-f]{40}$/);
    assert.deepEqual(record.seeds, [1, 2, 3]);
    assert.equal(record.command, `sci experiment run config/experiments/${yaml} --seeds 3`);
    const cells = gridCells(loadGridConfig(join(REPO, 'config', 'experiments', yaml)));
    const today = Object.fromEntries(cells.map((cell) => [cell.name, configFingerprint(resolvedPipelineConfig(cell.config))]));
    assert.deepEqual((record.config as { cells: Record<string, string> }).cells, today, 'each cell ran the config HEAD ships (defaults included)');
    const rows = record.body.rows;
    assert.deepEqual([...new Set(rows.map((row) => row.cell))].sort(), Object.keys(today).sort(), 'rows for every cell');
    for (const row of rows) assert.deepEqual(row.seeds, record.seeds, `${row.cell} ${row.row}: every seed`);
  });
}
