import { Command } from 'commander';
import { join, resolve } from 'node:path';
import { readYamlFile } from '../config/index.js';
import { parseContract, UsageError } from '../common/index.js';
import { FsStorage } from '../storage/index.js';
import {
  buildGridReport,
  ciTestCommits,
  ciTestRecord,
  GridConfigSchema,
  gridCells,
  gridRecord,
  runCiTest,
  runGrid,
  writeGridReport,
  type GridConfig,
} from '../experiment/index.js';
import { renderCiTestHtml, writeReportFiles } from '../report/index.js';
import { recordCommit, writeResultRecord } from '../results/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { openCluster } from './cluster-context.js';
import { closeBounded } from './processes-cmd.js';
import { intList, positiveInt } from './parse.js';
import { pipelineProgress, type PipelineProgress } from './pipeline-cmd.js';
import { interruptOnSignals } from './interrupt.js';

/*
 * `sci experiment run GRID.yaml [--seeds 3]`: every cell of a grid (an
 * axis-combination of one base pipeline) run on the cluster, resumably, and
 * one report over all cells and seeds. `sci experiment report` rewrites the
 * report from what is finished, without a cluster. `sci experiment ci-test`
 * measures consistent indexing on the finished checkpoints, paired per query
 * (experiment/ci-test.ts), in this process.
 */

export function loadGridConfig(file: string): GridConfig {
  const grid = parseContract(GridConfigSchema, readYamlFile(file, 'grid'), { what: 'grid', emptyField: '(root)', error: UsageError, file });
  return { ...grid, out: resolve(grid.out) };
}

const seedsOf = (grid: GridConfig, count: number) => Array.from({ length: count }, (_, i) => grid.seed + i);

export function experimentCommand(globals: () => GlobalOptions): Command {
  const experiment = new Command('experiment').description("Experiment grids: every combination of a pipeline config's axes, over seeds, in one report");
  experiment
    .command('run')
    .description('Run every cell of a grid on the cluster (finished cells and steps are not run again) and write <out>/report.html')
    .argument('<file>', 'grid, e.g. config/experiments/thesis.yaml')
    .option('--seeds <n>', 'seeds per cell (seed, seed+1, ...)', positiveInt('--seeds'), 1)
    .option('--only <regex>', 'only the cells whose name matches (e.g. "w=0.6")')
    .option('--redo-from <step>', 'in every cell: forget this step and every later one and run them again (e.g. stage1.analysis)')
    .action(async (file: string, flags: { seeds: number; only?: string; redoFrom?: string }) => {
      const { config: sciConfig, logger } = commandContext(globals());
      const grid = loadGridConfig(file);
      const cells = gridCells(grid);
      const seeds = seedsOf(grid, flags.seeds);
      const log = logger.child({ component: 'experiment' });
      const cluster = await openCluster(sciConfig, `sci-experiment-${process.pid}`, 'pipeline');
      const interrupt = interruptOnSignals(log, 'stopping after the current training checkpoint or job wait (run the same command again to continue)');
      let progress: PipelineProgress | null = null;
      const started = Date.now();
      try {
        process.stdout.write(`${grid.title}: ${cells.length} cells × ${seeds.length} seed(s) → ${grid.out}\n`);
        await runGrid({
          cells,
          seeds,
          cluster,
          logger: log,
          signal: interrupt.signal,
          wordnetSplit: sciConfig.wordnet,
          ...(flags.only ? { only: new RegExp(flags.only) } : {}),
          ...(flags.redoFrom ? { redoFrom: flags.redoFrom } : {}),
          hooks: (cell, seed) => {
            progress?.stop();
            progress = pipelineProgress((text) => process.stdout.write(`[${cell.name} seed ${seed}] ${text}\n`), log);
            return progress.hooks;
          },
        });
        const storage = new FsStorage('/');
        const report = await buildGridReport(grid, cells, seeds, storage);
        const { html } = writeGridReport(grid.out, report);
        const command = `sci experiment run ${file}${flags.seeds > 1 ? ` --seeds ${flags.seeds}` : ''}`;
        const record = await gridRecord({ file, grid, cells, seeds, report, storage, command, encoder: sciConfig.workers.encoder });
        writeResultRecord(join(grid.out, 'record.json'), record);
        process.stdout.write(`done in ${((Date.now() - started) / 60_000).toFixed(1)} min; report: ${html}; result record: ${join(grid.out, 'record.json')}\n`);
      } finally {
        (progress as PipelineProgress | null)?.stop();
        interrupt.release();
        await closeBounded(cluster);
      }
    });
  experiment
    .command('report')
    .description('Write <out>/report.html and report.json from the cells and seeds finished so far (no cluster needed)')
    .argument('<file>', 'grid')
    .option('--seeds <n>', 'seeds per cell', positiveInt('--seeds'), 1)
    .option(
      '--write <file>',
      'also write its result record there (e.g. docs/results/experiment-sci.json); refused unless every cell-seed ran at one clean commit',
    )
    .option('--allow-dirty', 'with --write: accept a record made from a tree with uncommitted changes (it says so)')
    .action(async (file: string, flags: { seeds: number; write?: string; allowDirty?: boolean }) => {
      const { config: sciConfig } = commandContext(globals());
      const grid = loadGridConfig(file);
      const cells = gridCells(grid);
      const seeds = seedsOf(grid, flags.seeds);
      const storage = new FsStorage('/');
      const report = await buildGridReport(grid, cells, seeds, storage);
      const { html } = writeGridReport(grid.out, report);
      const done = report.rows.filter((r) => r.seeds.length > 0).length;
      process.stdout.write(`${done}/${report.rows.length} rows measured; report: ${html} (${join(grid.out, 'report.json')})\n`);
      if (flags.write) {
        const command = `sci experiment run ${file}${flags.seeds > 1 ? ` --seeds ${flags.seeds}` : ''}`;
        const record = await gridRecord({ file, grid, cells, seeds, report, storage, command, encoder: sciConfig.workers.encoder });
        recordCommit(record, { allowDirty: flags.allowDirty ?? false });
        writeResultRecord(flags.write, record);
        process.stdout.write(`wrote ${flags.write}\n`);
      }
    });
  experiment
    .command('ci-test')
    .description(
      "A paired test of SCI's consistent indexing on the grid's finished checkpoints: per checkpoint, every judged query through three IVF-Flat layouts with one global quantizer each (item view, CI, CI with training queries); writes <out>/ci-test/report.html and report.json (no cluster needed)",
    )
    .argument('<file>', 'grid whose cells have separate towers, e.g. config/experiments/sci.yaml')
    .option('--seeds <n>', 'seeds per cell', positiveInt('--seeds'), 1)
    .option('--nlist <n>', 'lists of every layout', positiveInt('--nlist'), 1024)
    .option(
      '--nprobe <list>',
      'nprobe values; the equal-work points scan as many items as these many average lists',
      intList('--nprobe'),
      [1, 2, 4, 8, 16, 32, 64],
    )
    .option('--split <name>', "the judged queries (default: the cells' eval split)")
    .option('--max-queries <n>', 'at most this many judged queries (default: all)', positiveInt('--max-queries'))
    .option(
      '--write <file>',
      'also write its result record there (e.g. docs/results/experiment-sci-ci-test.json); refused unless every checkpoint was trained at one clean commit and this analysis runs at a clean commit',
    )
    .option('--allow-dirty', 'with --write: accept a record made from a tree with uncommitted changes (it says so)')
    .action(
      async (
        file: string,
        flags: { seeds: number; nlist: number; nprobe: number[]; split?: string; maxQueries?: number; write?: string; allowDirty?: boolean },
      ) => {
        const { config: sciConfig, logger } = commandContext(globals());
        const grid = loadGridConfig(file);
        const cells = gridCells(grid);
        const seeds = seedsOf(grid, flags.seeds);
        const storage = new FsStorage('/');
        const out = join(grid.out, 'ci-test');
        const started = Date.now();
        const report = await runCiTest({
          grid,
          cells,
          seeds,
          storage,
          logger: logger.child({ component: 'ci-test' }),
          nlist: flags.nlist,
          nprobes: flags.nprobe,
          ...(flags.split ? { split: flags.split } : {}),
          ...(flags.maxQueries ? { maxQueries: flags.maxQueries } : {}),
          encoder: sciConfig.workers.encoder,
          queriesDir: join(out, 'queries'),
        });
        const analysisSeconds = (Date.now() - started) / 1000;
        const { html, json } = writeReportFiles(out, report, renderCiTestHtml(report));
        process.stdout.write(
          `${report.checkpoints.length} checkpoint(s) measured${report.missing.length > 0 ? `, ${report.missing.length} not finished (skipped)` : ''} in ${analysisSeconds.toFixed(0)} s; report: ${html} (${json})\n`,
        );
        if (flags.write) {
          const settings = { nlist: report.nlist, nprobes: report.nprobes, split: report.split, maxQueries: flags.maxQueries ?? 0 };
          const command = `sci experiment ci-test ${file}${flags.seeds > 1 ? ` --seeds ${flags.seeds}` : ''}`;
          const record = await ciTestRecord({
            file,
            grid,
            cells,
            seeds,
            report,
            storage,
            command,
            encoder: sciConfig.workers.encoder,
            settings,
            analysisSeconds,
          });
          ciTestCommits(record, { allowDirty: flags.allowDirty ?? false });
          writeResultRecord(flags.write, record);
          process.stdout.write(`wrote ${flags.write}\n`);
        }
      },
    );
  return experiment;
}
