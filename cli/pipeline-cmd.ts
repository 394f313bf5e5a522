import { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySetAssignments, readYamlFile } from '../config/index.js';
import { REPORT_METRICS } from '../eval/index.js';
import { parseContract, UsageError } from '../common/index.js';
import { FsStorage } from '../storage/index.js';
import {
  PipelineConfigSchema,
  pipelineRecord,
  planPipeline,
  renderPipelineMarkdown,
  readPipelineState,
  runPipeline,
  writeSeedSummary,
  type PipelineConfig,
  type PipelineHooks,
  type PipelineState,
  type PipelineStep,
} from '../pipeline/index.js';
import type { Logger } from '../common/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { openCluster } from './cluster-context.js';
import { closeBounded } from './processes-cmd.js';
import { intList, positiveInt } from './parse.js';
import { recordCommit, ResultRecordError, writeResultRecord } from '../results/index.js';
import { progressReporter, type ProgressReporter } from './progress.js';
import { interruptOnSignals } from './interrupt.js';

/*
 * `sci pipeline run FILE.yaml`: the three-stage training pipeline as cluster
 * jobs (config/pipelines/wordnet.yaml is the built-in one); running it again
 * continues where it stopped. `sci pipeline status FILE.yaml` shows where a
 * run stands and what it measured.
 */

const collect = (value: string, previous: string[]) => [...previous, value];

export function loadPipelineConfig(file: string, sets: readonly string[] = []): PipelineConfig {
  const raw = readYamlFile(file, 'pipeline config');
  applySetAssignments(raw, sets);
  return parseContract(PipelineConfigSchema, raw, { what: 'pipeline config', emptyField: '(root)', error: UsageError, file });
}

const describe = (step: PipelineStep): string => {
  switch (step.kind) {
    case 'ingest':
      return `ingest WordNet into ${step.shards} shards`;
    case 'job':
      return `${step.spec.kind} job → ${step.spec.output}`;
    case 'train':
      return `train to step ${step.segment.steps}${step.segment.negativesFrom.length > 0 ? `, ${step.segment.negativesPerQuery} mined negative(s) per query` : ', in-batch negatives'}`;
    case 'eval':
      return `evaluate ${step.target.index} on ${step.target.split} over the whole corpus`;
    case 'analyse':
      return `analyse ${step.target.stage}: every index swept, HNSW at equal overlap, geometry`;
  }
};

function formatResults(state: PipelineState): string {
  const lines = [
    `${'stage'.padEnd(12)} ${'split'.padEnd(6)} ${'steps'.padStart(6)} ${'queries'.padStart(8)} ${REPORT_METRICS.map((m) => m.padStart(10)).join(' ')}`,
  ];
  for (const r of state.results)
    lines.push(
      `${r.stage.padEnd(12)} ${r.split.padEnd(6)} ${String(r.trainedSteps ?? '-').padStart(6)} ${String(r.queries).padStart(8)} ${REPORT_METRICS.map((m) => (r.metrics[m] ?? Number.NaN).toFixed(4).padStart(10)).join(' ')}`,
    );
  if (state.best) lines.push(`best by ${state.best.metric}: ${state.best.stage} (${state.best.value.toFixed(4)}) ${state.best.checkpoint}`);
  return `${lines.join('\n')}\n`;
}

/** The last step a training segment's log recorded (its progress while it runs). */
function lastLoggedStep(logFile: string): number | string {
  if (!existsSync(logFile)) return '?';
  const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return (JSON.parse(lines[i]!) as { step: number }).step;
    } catch {
      // a line being written
    }
  }
  return '?';
}

/** The command that reproduces a run of these seeds (consecutive seeds as --seed/--seeds, others as one command per seed). */
export function pipelineRunCommand(file: string, seeds: readonly number[], sets: readonly string[]): string {
  const setArgs = sets.map((s) => ` --set ${s}`).join('');
  const consecutive = seeds.every((s, i) => i === 0 || s === seeds[i - 1]! + 1);
  if (consecutive) return `sci pipeline run ${file} --seed ${seeds[0]}${seeds.length > 1 ? ` --seeds ${seeds.length}` : ''}${setArgs}`;
  return seeds.map((seed) => `sci pipeline run ${file} --seed ${seed}${setArgs}`).join(' && ');
}

export interface PipelineProgress {
  hooks: PipelineHooks;
  stop(): void;
}

/** A line per step, and a progress bar (or log lines) while a job or a training segment runs. */
export function pipelineProgress(out: (text: string) => void, log: Logger): PipelineProgress {
  let bar: ProgressReporter | null = null;
  return {
    stop: () => bar?.stop(),
    hooks: {
      onStepStart: (step, i, total, attempt) => {
        out(`(${i + 1}/${total}) ${step.id}: ${describe(step)}${attempt > 1 ? ` (attempt ${attempt}, continuing)` : ''}`);
        bar = progressReporter(step.id, log, { unit: step.kind === 'train' ? 'steps' : 'shards' });
      },
      onStepSkipped: (step, record) => out(`${step.id}: done earlier (${record.seconds?.toFixed(1) ?? '?'} s)`),
      onJob: (_step, status) => bar?.update(status.tasks.done, status.tasks.total, { stage: status.stage, 'rows/s': Math.round(status.rows.perSecond) }),
      onTrainStep: (_step, done, total, fields) => bar?.update(done, total, fields),
      onStepDone: (step, record, result) => {
        bar?.stop();
        bar = null;
        const metrics = result
          ? ` ${REPORT_METRICS.slice(0, 3)
              .map((m) => `${m} ${result.metrics[m]!.toFixed(4)}`)
              .join(', ')} (${result.queries} queries)`
          : '';
        out(`${step.id}: done in ${record.seconds!.toFixed(1)} s${record.jobId ? ` (job ${record.jobId})` : ''}${metrics}`);
      },
    },
  };
}

export function pipelineCommand(globals: () => GlobalOptions): Command {
  const pipeline = new Command('pipeline').description(
    'The three-stage training pipeline (in-batch → BM25 negatives → rounds of dense negatives) as cluster jobs',
  );
  pipeline
    .command('run')
    .description('Run a pipeline (YAML); the same command again continues a stopped run without redoing finished jobs or training segments')
    .argument('<file>', 'pipeline config, e.g. config/pipelines/wordnet.yaml')
    .option('--seed <n>', "seed (default: the file's); each seed has its own folder <out>/seed-<n>", (v) => Number(v))
    .option('--seeds <n>', 'run n seeds (seed, seed+1, ...) one after the other and write <out>/summary.html with mean ± std', positiveInt('--seeds'), 1)
    .option('--set <path=value>', 'override a config value, e.g. --set stages.dense.rounds=1 (repeatable)', collect, [])
    .option('--redo-from <step>', 'forget this step and every later one and run them again (e.g. stage2.mine after changing stage 2)')
    .action(async (file: string, flags: { seed?: number; seeds: number; set: string[]; redoFrom?: string }) => {
      const { config: sciConfig, logger } = commandContext(globals());
      const config = loadPipelineConfig(file, flags.set);
      const first = flags.seed ?? config.seed;
      if (!Number.isInteger(first)) throw new UsageError(`--seed expects an integer, got ${flags.seed}`, { field: '--seed' });
      const log = logger.child({ component: 'pipeline' });
      const cluster = await openCluster(sciConfig, `sci-pipeline-${process.pid}`, 'pipeline');
      const interrupt = interruptOnSignals(log, 'stopping after the current training checkpoint or job wait (run the same command again to continue)');
      const states: PipelineState[] = [];
      let progress: PipelineProgress | null = null;
      try {
        for (let seed = first; seed < first + flags.seeds; seed++) {
          progress = pipelineProgress((text) => process.stdout.write(`[seed ${seed}] ${text}\n`), log);
          const state = await runPipeline({
            config,
            seed,
            cluster: { ...cluster, encoderSettings: sciConfig.workers.encoder },
            logger: log,
            wordnetSplit: sciConfig.wordnet,
            signal: interrupt.signal,
            ...(flags.redoFrom ? { redoFrom: flags.redoFrom } : {}),
            hooks: progress.hooks,
          });
          states.push(state);
          process.stdout.write(formatResults(state));
          process.stdout.write(`report: ${join(state.out, 'report.html')}\n`);
        }
        const out = planPipeline(config).out;
        if (states.length > 1) {
          const { html } = writeSeedSummary(out, states, config);
          process.stdout.write(`summary over ${states.length} seeds: ${html}\n`);
        }
        // The result record of the seeds this command ran (sci pipeline record combines seeds run separately).
        // A finished run whose parts cannot be recorded as one (a config changed on the way) still succeeds: the log says why.
        try {
          const record = pipelineRecord({
            file,
            config,
            states,
            command: pipelineRunCommand(
              file,
              states.map((s) => s.seed),
              flags.set,
            ),
            encoder: sciConfig.workers.encoder,
          });
          const recordFile = join(
            out,
            states.length > 1 ? `record-seeds-${states[0]!.seed}-${states.at(-1)!.seed}.json` : `seed-${states[0]!.seed}/record.json`,
          );
          writeResultRecord(recordFile, record);
          process.stdout.write(`result record: ${recordFile}\n`);
        } catch (err) {
          if (!(err instanceof ResultRecordError)) throw err;
          log.warn({ err: err.message }, 'no result record for this run');
        }
      } finally {
        (progress as PipelineProgress | null)?.stop();
        interrupt.release();
        await closeBounded(cluster);
      }
    });
  pipeline
    .command('record')
    .description(
      'The result record of finished seeds (each seed may have run on its own): every evaluation, step times, the summary over seeds, the commit and resolved config; prints the README table',
    )
    .argument('<file>', 'pipeline config, e.g. config/pipelines/wordnet.yaml')
    .requiredOption('--seeds <list>', 'the seeds, e.g. 1-3 or 1,2,3', intList('--seeds'))
    .option('--set <path=value>', 'the same overrides the runs were given', collect, [])
    .option('--write <file>', 'write the record there (e.g. docs/results/pipeline-wordnet.json); refused unless every seed ran at one clean commit')
    .option('--allow-dirty', 'with --write: accept a record made from a tree with uncommitted changes (it says so)')
    .action(async (file: string, flags: { seeds: number[]; set: string[]; write?: string; allowDirty?: boolean }) => {
      const { config: sciConfig } = commandContext(globals());
      const config = loadPipelineConfig(file, flags.set);
      const storage = new FsStorage('/');
      const states: PipelineState[] = [];
      for (const seed of flags.seeds) {
        const plan = planPipeline(config, seed);
        const state = existsSync(plan.stateFile) ? await readPipelineState(storage, plan.stateFile) : null;
        if (!state) throw new UsageError(`seed ${seed} has not run (no ${plan.stateFile})`, { file: plan.stateFile });
        states.push(state);
      }
      const record = pipelineRecord({ file, config, states, command: pipelineRunCommand(file, flags.seeds, flags.set), encoder: sciConfig.workers.encoder });
      process.stdout.write(`${renderPipelineMarkdown(record)}\n`);
      if (flags.write) {
        recordCommit(record, { allowDirty: flags.allowDirty ?? false });
        writeResultRecord(flags.write, record);
        process.stdout.write(`wrote ${flags.write}\n`);
      }
    });
  pipeline
    .command('status')
    .description("Where a pipeline run stands: each step's state, time and job, and the evaluations so far (reads its state file; no cluster needed)")
    .argument('<file>', 'pipeline config')
    .option('--seed <n>', "seed (default: the file's)", (v) => Number(v))
    .option('--set <path=value>', 'the same overrides the run was given', collect, [])
    .option('--json', 'print the state as JSON')
    .action(async (file: string, flags: { seed?: number; set: string[]; json?: boolean }) => {
      const config = loadPipelineConfig(file, flags.set);
      const plan = planPipeline(config, flags.seed ?? config.seed);
      const state = existsSync(plan.stateFile) ? await readPipelineState(new FsStorage('/'), plan.stateFile) : null;
      if (!state) throw new UsageError(`no run of this pipeline yet (no ${plan.stateFile})`, { file: plan.stateFile });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
        return;
      }
      // Steps of this plan only: a run with other overrides may have recorded steps this one has not.
      const done = plan.steps.filter((step) => state.steps.find((s) => s.id === step.id)?.state === 'done').length;
      process.stdout.write(
        `pipeline seed ${state.seed}: ${done}/${plan.steps.length} steps done${state.finishedAt ? `, finished ${state.finishedAt}` : ''} (state ${plan.stateFile})\n`,
      );
      for (const step of plan.steps) {
        const r = state.steps.find((s) => s.id === step.id);
        let what = r ? `${r.state.padEnd(7)} ${r.seconds !== null ? `${r.seconds.toFixed(1)} s`.padStart(9) : ''.padStart(9)}` : 'pending'.padEnd(17);
        if (r?.reused) what += ' (reused)';
        if (r?.state === 'running' && step.kind === 'train')
          what += ` step ${lastLoggedStep(join(step.segment.outDir, 'train-log.jsonl'))}/${step.segment.steps}`;
        process.stdout.write(
          `  ${step.id.padEnd(22)} ${what}${r?.jobId ? ` job ${r.jobId}` : ''}${r && r.attempts > 1 ? ` (${r.attempts} attempts)` : ''}${r?.error ? `  ${r.error}` : ''}\n`,
        );
      }
      if (state.results.length > 0) process.stdout.write(formatResults(state));
    });
  return pipeline;
}
