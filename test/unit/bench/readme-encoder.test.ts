import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineRate, renderEncoderMarkdown, type EncoderReport } from '../../../bench/encoder-report.js';
import { REPO_ROOT as REPO } from '../../support/paths.js';

/*
 * The encoder-engine figures in the README are the committed bench report's: the README block is what
 * renderEncoderMarkdown makes of docs/encoder/report.json (written by `node dist/bench/encoder.js --write`).
 */

test('the README encoder-engine table is generated from docs/encoder/report.json', () => {
  const report = JSON.parse(readFileSync(join(REPO, 'docs', 'encoder', 'report.json'), 'utf8')) as EncoderReport;
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /<!-- encoder-report:start -->\n([\s\S]*?)\n<!-- encoder-report:end -->/.exec(readme);
  assert.ok(block, 'the README has the encoder report block');
  assert.equal(block[1], renderEncoderMarkdown(report));
  // Every model on every engine, measured; every engine on the same weights (vectors agree with ORT's).
  const models = new Set(report.engines.map((r) => r.model));
  assert.equal(models.size, 3);
  for (const model of models) {
    for (const [engine, threads] of [
      ['tfjs-wasm', 1],
      ['onnxruntime', 1],
      ['onnxruntime', 2],
    ] as const) {
      const rate = engineRate(report, model, (e) => e === engine, threads);
      assert.ok(rate !== undefined && Number.isFinite(rate) && rate > 0, `${model} ${engine} ${threads}`);
    }
  }
  for (const row of report.engines) assert.ok(row.maxDiffVsOnnx < 1e-4, `${row.model} ${row.engine}: ${row.maxDiffVsOnnx}`);
  assert.ok(report.demoJob.tfjsSeconds > 0 && report.demoJob.onnxSeconds > 0 && report.demoJob.maxDiff < 1e-4);
});
