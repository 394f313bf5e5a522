import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderHostsMarkdown, type HostsReport } from '../../../bench/hosts-report.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';

/*
 * The three-host figures in the README are the committed bench report's: the README block is what
 * renderHostsMarkdown makes of docs/hosts/report.json (written by `node dist/bench/hosts.js --write`).
 */

test('the README three-host table is generated from docs/hosts/report.json', () => {
  const report = JSON.parse(readFileSync(join(REPO, 'docs', 'hosts', 'report.json'), 'utf8')) as HostsReport;
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /<!-- hosts-report:start -->\n([\s\S]*?)\n<!-- hosts-report:end -->/.exec(readme);
  assert.ok(block, 'the README has the hosts report block');
  assert.equal(block[1], renderHostsMarkdown(report));
  // The baseline is the undelayed pass, measured in the same run; every figure is a measurement.
  assert.equal(report.runs[0]?.delayMs, 0);
  for (const run of report.runs) {
    for (const value of [...Object.values(run.stagesS), run.bytesBetweenHosts, run.objectStoreBytes, run.search.p50Ms, run.search.p99Ms])
      assert.ok(Number.isFinite(value) && value > 0, `${run.delayMs} ms: ${value}`);
    assert.ok(run.search.p99Ms >= run.search.p50Ms);
  }
});
