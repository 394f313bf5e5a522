import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { planPipeline } from '../../pipeline/index.js';
import { CI_METHODS, CI_PAIRS, gridCells, GridConfigSchema, readCiTestRecord, type CiTestReport, type GridReport } from '../../experiment/index.js';
import { renderCiTestMarkdown } from '../../report/index.js';
import { TestCluster } from '../support/cluster.js';
import { runSci } from '../support/cli.js';
import { tempDir } from '../support/paths.js';
import { wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';
import { chromiumDom } from '../support/chromium.js';
import { assertPlotted, plottedPoints, type PlottedPoint } from '../support/plots.js';

/*
 * `sci experiment run` on a real cluster over WordNet's verbs and adverbs: a
 * two-cell grid (separate towers, SymmAligner off / A after a warm-up), each
 * cell trained, encoded in both views, indexed (Flat, item-view IVF, CI
 * dual-view IVF) and analysed through scatter-gather. The report has the CI
 * row beside the IVF at every nprobe, headless Chromium draws every plot's
 * points where report.json puts them, and running the grid again runs
 * nothing (every cell finished). Then `sci experiment ci-test` on the two
 * checkpoints: every layout probed whole is exact search, so the three
 * layouts agree there query by query; the record names the code; the page
 * draws report.json.
 */

test(
  'experiment grid: cells run end to end on the cluster, CI beside IVF at every nprobe, the report draws report.json, a rerun redoes nothing',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t);
    const dict = wordnetVerbsAndAdverbs(dir);
    const raw = {
      title: 'test grid',
      description: 'two aligner settings',
      notes: ['the aligner starts after 20 steps'],
      out: join(dir, 'grid'),
      corpus: { passages: join(dir, 'passages'), ingest: { format: 'wordnet', input: dict, shards: 4 } },
      pipeline: {
        train: { model: { kind: 'fast', dim: 32, embeddingDim: 32, towers: 'separate' }, batchSize: 64, eval: { every: 1000, poolSize: 4000, queries: 300 } },
        stages: { inBatch: { steps: 40 }, bm25: null },
        eval: { maxQueries: 600, baselines: { bm25: true, hashed: false } },
        analysis: {
          stages: ['final'],
          indexes: [
            { name: 'ivf', factory: 'IVF16,Flat' },
            { name: 'ci', factory: 'IVF16,Flat', dualView: true },
          ],
          maxQueries: 400,
          sweepQueries: 200,
          sample: 500,
        },
      },
      axes: [{ name: 'aligner', key: 'train.objective.symmAligner', values: [null, { variant: 'A', startStep: 20 }], labels: ['off', 'A'] }],
      rows: [{ stage: 'final', label: 'separate' }],
    };
    const file = join(dir, 'grid.yaml');
    writeFileSync(file, toYaml(raw));
    const cluster = await TestCluster.start({ dir, workers: 2 });
    t.after(() => cluster.stop());
    const env = { ...cluster.env, ...cluster.roleEnv('pipeline'), SCI_LOG__LEVEL: 'warn' };

    const first = await runSci(['experiment', 'run', file], { env, timeoutMs: 450_000 });
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr}\n${cluster.logs()}`);
    assert.match(first.stdout, /test grid: 2 cells × 1 seed\(s\)/);
    const report = JSON.parse(readFileSync(join(dir, 'grid', 'report.json'), 'utf8')) as GridReport;
    assert.deepEqual(
      report.rows.map((r) => [r.cell, r.row, r.seeds]),
      [
        ['aligner=off', 'separate', [1]],
        ['aligner=A', 'separate', [1]],
      ],
    );
    assert.deepEqual(
      report.baselines.map((b) => b.name),
      ['bm25'],
    );
    for (const row of report.rows) {
      const ivf = row.sweeps.find((s) => s.index === 'ivf')!;
      const ci = row.sweeps.find((s) => s.index === 'ci')!;
      assert.equal(ci.dualView, true);
      assert.deepEqual(
        ci.points.map((p) => p.value),
        ivf.points.map((p) => p.value),
      );
      assert.deepEqual(
        ci.points.map((p) => p.value),
        [1, 2, 4, 8, 16],
      );
      // Every list probed, both score the item view exactly: the same model's Flat.
      assert.ok(ci.points.at(-1)!.overlap!.mean > 0.999 && ivf.points.at(-1)!.overlap!.mean > 0.999);
      assert.ok(row.geometry && row.geometry.crossTowerGap.mean > 0, 'separate towers have a cross-tower gap');
      assert.ok(Math.abs(row.geometry.histogram.fractions.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'the histogram covers every pair');
    }
    // The plots are the rows: Recall@10 vs nprobe of each cell's CI is its sweep.
    const nprobePlot = report.plots.find((p) => p.title === 'Recall@10 vs nprobe, IVF16,Flat')!;
    const ciSeries = nprobePlot.series.find((s) => s.name === 'aligner=A · ci (CI)')!;
    assert.deepEqual(
      ciSeries.points,
      report.rows[1]!.sweeps.find((s) => s.index === 'ci')!.points.map((p) => [p.value, p.recall.mean]),
    );

    const html = join(dir, 'grid', 'report.html');
    assert.match(readFileSync(html, 'utf8'), /the aligner starts after 20 steps/);
    const dom = chromiumDom(html);
    if (dom !== null) {
      const expected: PlottedPoint[] = report.plots.flatMap((p) =>
        p.series.flatMap((s) => s.points.map(([x, y]) => ({ plot: p.title, series: s.name, x, y }))),
      );
      assertPlotted(plottedPoints(dom), expected, new Set(report.plots.filter((p) => p.logX).map((p) => p.title)));
    } else t.diagnostic('chromium is not installed: the plotted points were not checked');

    // Again: every cell is finished, nothing is trained or submitted again.
    const grid = GridConfigSchema.parse(raw);
    const trained = gridCells(grid).map((c) => statSync(join(planPipeline(c.config, 1).seedDir, 'stage1', 'train', 'result.json')).mtimeMs);
    const second = await runSci(['experiment', 'run', file], { env, timeoutMs: 120_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stdout, /\(\d+\/\d+\) /, 'no step started');
    assert.deepEqual(
      gridCells(grid).map((c) => statSync(join(planPipeline(c.config, 1).seedDir, 'stage1', 'train', 'result.json')).mtimeMs),
      trained,
    );

    // The paired CI test on both checkpoints: one global IVF16 quantizer per layout, every judged dev query.
    const recordFile = join(dir, 'ci-test-record.json');
    const ciRun = await runSci(['experiment', 'ci-test', file, '--nlist', '16', '--nprobe', '1,2,4,16', '--write', recordFile, '--allow-dirty'], {
      env,
      timeoutMs: 240_000,
    });
    assert.equal(ciRun.code, 0, `${ciRun.stdout}\n${ciRun.stderr}`);
    assert.match(ciRun.stdout, /2 checkpoint\(s\) measured/);
    const ci = JSON.parse(readFileSync(join(dir, 'grid', 'ci-test', 'report.json'), 'utf8')) as CiTestReport;
    assert.deepEqual(
      ci.checkpoints.map((c) => [c.cell, c.seed]),
      [
        ['aligner=off', 1],
        ['aligner=A', 1],
      ],
    );
    assert.deepEqual(
      ci.budgets,
      [1, 2, 4, 16].map((lists) => Math.round((lists * ci.corpus) / 16)),
    );
    for (const c of ci.checkpoints) {
      assert.ok(c.queries > 100, `${c.queries} judged dev queries`);
      assert.ok(c.crossTowerGap > 0, 'separate towers');
      for (const method of CI_METHODS) {
        const whole = c.methods[method].atNprobe.at(-1)!;
        assert.equal(whole.probed, 1, `${method}: every positive's list probed at nprobe = nlist`);
        assert.equal(whole.scanned, ci.corpus);
        assert.ok(whole.overlap > 0.999, `${method}: every list probed is the exact search (overlap ${whole.overlap})`);
        assert.equal(c.truncated[method], 0);
      }
      for (const pair of CI_PAIRS) {
        // Probed whole, the layouts return the same top 10 for every query: no difference, all ties.
        const whole = c.pairs[pair].atNprobe.at(-1)!;
        assert.deepEqual([whole.recall.mean, whole.recall.wins, whole.recall.losses, whole.recall.ties], [0, 0, 0, c.queries]);
      }
      // Fewer lists probed, fewer positives found: the sweep rises to the end.
      const item = c.methods.item.atNprobe;
      assert.ok(item[0]!.recall <= item.at(-1)!.recall && item[0]!.scanned < item.at(-1)!.scanned);
    }
    const record = readCiTestRecord(recordFile);
    assert.equal(record.name, 'grid-ci-test');
    assert.equal(record.seeds.join(), '1');
    assert.deepEqual(
      record.body.variants.map((v) => v.cell),
      ['aligner=off', 'aligner=A'],
    );
    assert.match(renderCiTestMarkdown(record.body), /^\| SymmAligner \| seeds \| Δcos/);
    const ciDom = chromiumDom(join(dir, 'grid', 'ci-test', 'report.html'));
    if (ciDom !== null) {
      const at = ci.nprobes.indexOf(ci.headline.at) >= 0 ? ci.nprobes.indexOf(ci.headline.at) : 0;
      const expected: PlottedPoint[] = ci.variants.flatMap((v) => [
        ...v.pairs.ci.atNprobe.map((p) => ({ plot: 'Recall@10: CI − IVF at equal nprobe', series: `${v.labels.aligner}`, x: p.at, y: p.recall.mean })),
        ...v.pairs.ci.atBudget.map((p, i) => ({
          plot: 'Recall@10: CI − IVF at equal items scanned',
          series: `${v.labels.aligner}`,
          x: ci.budgets[i]!,
          y: p.recall.mean,
        })),
        ...v.pairs.ci.atNprobe.map((p) => ({ plot: "Positive's list probed: CI − IVF", series: `${v.labels.aligner}`, x: p.at, y: p.probed.mean })),
        ...v.pairs['ci+q'].atNprobe.map((p) => ({
          plot: 'Recall@10: CI with training queries − IVF',
          series: `${v.labels.aligner}`,
          x: p.at,
          y: p.recall.mean,
        })),
      ]);
      const scatter = `CI − IVF Recall@10 at nprobe ${ci.nprobes[at]} against Δcos`;
      expected.push(...ci.checkpoints.map((c) => ({ plot: scatter, series: `${c.labels.aligner}`, x: c.deltaCos, y: c.pairs.ci.atNprobe[at]!.recall.mean })));
      assertPlotted(
        plottedPoints(ciDom),
        expected,
        new Set([
          'Recall@10: CI − IVF at equal nprobe',
          'Recall@10: CI − IVF at equal items scanned',
          "Positive's list probed: CI − IVF",
          'Recall@10: CI with training queries − IVF',
        ]),
      );
    } else t.diagnostic('chromium is not installed: the CI test plots were not checked');
  },
);
