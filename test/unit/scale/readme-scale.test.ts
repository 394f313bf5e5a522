import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScaleReport } from '../../../scale/index.js';
import { renderScaleMarkdown, renderScaleReportHtml } from '../../../report/index.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';

/*
 * The scale harness's figures in the README are the committed report's: the
 * README block is what renderScaleMarkdown makes of docs/scale/report.json,
 * and docs/scale/report.html is what that JSON renders to.
 */

test('the README scale tables and docs/scale/report.html are generated from docs/scale/report.json', () => {
  const report = JSON.parse(readFileSync(join(REPO, 'docs', 'scale', 'report.json'), 'utf8')) as ScaleReport;
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /<!-- scale-report:start -->\n([\s\S]*?)\n<!-- scale-report:end -->/.exec(readme);
  assert.ok(block, 'the README has the scale report block');
  assert.equal(block[1], renderScaleMarkdown(report));
  assert.equal(readFileSync(join(REPO, 'docs', 'scale', 'report.html'), 'utf8'), renderScaleReportHtml(report));
  // Every measured p99 plotted is a cell's p99.
  for (const plot of report.plots.filter((p) => p.title.includes('p99'))) {
    const index = plot.title.split(':')[0]!;
    for (const [shards, p99] of plot.series.find((s) => s.name === 'measured')!.points)
      assert.ok(report.cells.some((c) => c.index === index && c.shards === shards && c.clients === 1 && !c.hedged && c.p99Ms === p99));
  }
});
