import { Command, Option } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { readYamlFile } from '../config/index.js';
import { jsonOrUndefined, UsageError } from '../common/index.js';
import {
  controlJob,
  formatJobLog,
  getRecord,
  isJobFinished,
  JobNotFoundError,
  jobStatus,
  listJobs,
  NAMES,
  submitJob,
  tasksOfJob,
  waitForJob,
  type ClusterState,
  type JobRecord,
  type JobSpecInput,
  type JobStatus,
  JobRecordSchema,
  TaskProgressSchema,
  JOB_ID_PATTERN,
} from '../jobs/index.js';
import { commandContext, type GlobalOptions } from './context.js';
import { openCluster, storageKeyOf, withCluster } from './cluster-context.js';
import { positiveInt } from './parse.js';

interface SubmitFlags {
  kind?: 'encode' | 'index' | 'mine' | 'export';
  format?: 'parquet' | 'npy';
  queries?: string;
  split: string;
  source?: string;
  k?: number;
  input?: string;
  output?: string;
  dim?: number;
  dtype?: 'f32' | 'f16';
  model?: string;
  index?: string[];
  bm25?: string;
  sharedQuantizer?: boolean;
  sampleRows?: number;
  routed?: number;
  graphGroups?: number;
  wait?: boolean;
  json?: boolean;
  timeoutMs: number;
}

const INDEX_FLAG = /^([a-z0-9_-]+)=(.+):(ip|l2)(:dual-view)?$/;

/** `name=factory:metric[:dual-view]`, e.g. `hnsw=HNSW32,Flat:ip` or `ci=IVF256,PQ16:ip:dual-view` (SCI consistent indexing). */
function parseIndexFlag(value: string, previous: string[] = []): string[] {
  if (!INDEX_FLAG.test(value)) throw new UsageError(`--index expects name=FACTORY:ip|l2[:dual-view], got ${JSON.stringify(value)}`);
  return [...previous, value];
}

/** A job id as the coordinator makes them: anything else is a usage error, never a NATS subject. */
function jobIdArgument(value: string): string {
  if (!JOB_ID_PATTERN.test(value))
    throw new UsageError(`not a job id: ${JSON.stringify(value)} (job ids look like job-20261204224657-102a4427)`, { field: 'id' });
  return value;
}

/** `bm25` or `dense:<index name>`. */
function mineSource(value: string | undefined): { kind: 'bm25' } | { kind: 'dense'; index: string } {
  if (value === 'bm25') return { kind: 'bm25' };
  const m = /^dense:([a-z0-9_-]+)$/.exec(value ?? '');
  if (!m) throw new UsageError(`--source expects bm25 or dense:<index name>, got ${JSON.stringify(value)}`, { field: '--source' });
  return { kind: 'dense', index: m[1]! };
}

/** `keyOf` turns a flag's path into a storage key: absolute on a filesystem (the processes run elsewhere), as given in the object store. */
function specFromFlags(flags: SubmitFlags, keyOf: (path: string) => string): JobSpecInput {
  if (!flags.kind || !flags.output) throw new UsageError('give a job file, or --kind and --output (and --input)');
  const abs = keyOf;
  if (flags.kind === 'mine') {
    if (!flags.input || !flags.queries) throw new UsageError('a mine job needs --input (an index set) and --queries (the passage set with queries and qrels)');
    return {
      kind: 'mine',
      input: abs(flags.input),
      output: abs(flags.output),
      queries: { passages: abs(flags.queries), split: flags.split },
      source: mineSource(flags.source),
      ...(flags.k ? { k: flags.k } : {}),
    };
  }
  if (flags.kind === 'export') {
    if (!flags.input) throw new UsageError('--input (a passage or embedding set) is required for an export job');
    return { kind: 'export', input: abs(flags.input), output: abs(flags.output), ...(flags.format ? { format: flags.format } : {}) };
  }
  if (flags.kind === 'encode') {
    if (!flags.input) throw new UsageError('--input (a passage shard folder) is required for an encode job');
    if (flags.model && flags.dim) throw new UsageError('--dim sets the baseline encoder; a --model brings its own dimension');
    const encoder = flags.model
      ? { kind: 'model' as const, path: abs(flags.model) }
      : { kind: 'hashed-tfidf' as const, ...(flags.dim ? { dim: flags.dim } : {}) };
    return { kind: 'encode', input: abs(flags.input), output: abs(flags.output), encoder, ...(flags.dtype ? { dtype: flags.dtype } : {}) };
  }
  const indexes = (flags.index ?? []).map((spec) => {
    const [, name, factory, metric, dualView] = INDEX_FLAG.exec(spec)!;
    return { name: name!, factory: factory!, metric: metric as 'ip' | 'l2', ...(dualView ? { dualView: true } : {}) };
  });
  if (indexes.length > 0 && !flags.input) throw new UsageError('--input (an embedding shard folder) is required for Faiss indexes');
  if (indexes.length === 0 && !flags.bm25) throw new UsageError('an index job needs --index and/or --bm25');
  return {
    kind: 'index',
    input: flags.input ? abs(flags.input) : null,
    output: abs(flags.output),
    indexes,
    bm25: flags.bm25 ? { passages: abs(flags.bm25) } : null,
    sharedQuantizer: flags.sharedQuantizer || flags.sampleRows || flags.routed ? { ...(flags.sampleRows ? { sampleRows: flags.sampleRows } : {}) } : null,
    routed: flags.routed ? { partitions: flags.routed } : null,
    graphGroups: flags.graphGroups ? { groups: flags.graphGroups } : null,
  };
}

export function jobCommand(globals: () => GlobalOptions): Command {
  const job = new Command('job').description('Submit and follow jobs on the cluster');
  job
    .command('submit')
    .description('Submit a job (a YAML/JSON file or flags); --wait follows it to the end')
    .argument('[file]', 'job spec file (YAML or JSON)')
    .addOption(new Option('--kind <kind>', 'job kind').choices(['encode', 'index', 'mine', 'export']))
    .option('--input <dir>', 'input: passages (encode), embeddings (index), an index set (mine), passages or embeddings (export)')
    .addOption(new Option('--format <format>', 'export: parquet (passages or embeddings) or npy (embeddings, with an ids file)').choices(['parquet', 'npy']))
    .option('--output <dir>', 'output folder')
    .option('--dim <d>', 'encode: embedding dimension of the baseline encoder', positiveInt('--dim'))
    .addOption(new Option('--dtype <dtype>', 'encode: stored value type, f32 or f16 (half the bytes; the index build widens them)').choices(['f32', 'f16']))
    .option(
      '--model <dir>',
      'encode: a trained checkpoint (sci train), an ONNX export (model.onnx: sci model export, optimum) or a TensorFlow.js model folder instead of the baseline',
    )
    .option(
      '--index <name=factory:metric[:dual-view]>',
      'index: a Faiss index per shard, e.g. hnsw=HNSW32,Flat:ip; ci=IVF256,Flat:ip:dual-view is SCI consistent indexing over a two-tower set (repeatable)',
      parseIndexFlag,
    )
    .option('--bm25 <passages>', 'index: also BM25 per shard over this passage shard set')
    .option(
      '--shared-quantizer',
      'index: train IVF centroids and PQ codebooks once on a sample of every shard, and build every shard on them (nprobe then means the same lists everywhere)',
    )
    .option('--sample-rows <n>', 'index: rows of that sample over the whole set (implies --shared-quantizer; default 65536)', positiveInt('--sample-rows'))
    .option(
      '--routed <partitions>',
      "index: also place the IVF indexes' inverted lists on this many serving partitions, balanced by list size (routed IVF: serve with --layout routed; implies --shared-quantizer)",
      positiveInt('--routed'),
    )
    .option(
      '--graph-groups <groups>',
      'index: also build each HNSW index once per group of consecutive shards, one graph a group (serve with --layout groups)',
      positiveInt('--graph-groups'),
    )
    .option('--queries <passages>', 'mine: the passage shard set whose queries and qrels are mined for')
    .option('--split <name>', 'mine: the query split', 'train')
    .option('--source <source>', 'mine: bm25, or dense:<index name> of the index set')
    .option('--k <k>', 'mine: global top-K per query before filtering (default 200; filters need a job file)', positiveInt('--k'))
    .option('--wait', 'wait until the job ends; exit 1 unless it is done (a bar on a terminal, a progress line every 10 s elsewhere)')
    .option('--timeout-ms <ms>', 'with --wait: give up after this long', positiveInt('--timeout-ms'), 3_600_000)
    .option('--json', 'print the job record as JSON')
    .action(async (file: string | undefined, flags: SubmitFlags) => {
      const { config } = commandContext(globals());
      const spec = file ? (readYamlFile(file, 'job spec') as JobSpecInput) : specFromFlags(flags, (p) => storageKeyOf(config, p));
      await withCluster(config, 'sci-job-submit', 'cli', async (cluster) => {
        await reportJob(cluster.state, await submitJob(cluster.nc, spec), flags);
      });
    });
  job
    .command('status')
    .description('Shards done / total, rows/s and ETA per worker; --watch follows it live (bars on a terminal)')
    .argument('<id>', 'job id', jobIdArgument)
    .option('--watch', 'refresh until the job ends')
    .option('--json', 'print JSON (one line per refresh with --watch)')
    .action(async (id: string, flags: { watch?: boolean; json?: boolean }) => {
      const { config } = commandContext(globals());
      const cluster = await openCluster(config, 'sci-job-status', 'cli');
      // Live per-worker progress from the workers' progress messages.
      const live = new Map<string, { shardId: number; rows: number; rowsPerSecond: number; at: number }>();
      const sub = cluster.nc.subscribe(NAMES.progressSubject(id));
      void (async () => {
        for await (const msg of sub) {
          // A message that is not a worker's progress is left out of the view.
          const p = TaskProgressSchema.safeParse(jsonOrUndefined(msg.data));
          if (p.success) live.set(p.data.worker, { shardId: p.data.shardId, rows: p.data.rows, rowsPerSecond: p.data.rowsPerSecond, at: Date.now() });
        }
      })();
      const bars =
        flags.watch && !flags.json && process.stderr.isTTY
          ? new cliProgress.MultiBar(
              { stream: process.stderr, format: '{label} [{bar}] {value}/{total} {unit} | {detail}', hideCursor: true },
              cliProgress.Presets.shades_classic,
            )
          : null;
      const workerBars = new Map<string, cliProgress.SingleBar>();
      const jobBar = bars?.create(1, 0, { label: 'job      ', unit: 'shards', detail: '' }) ?? null;
      try {
        const show = async () => {
          const job = (await getRecord(cluster.state.jobs, id, JobRecordSchema))?.value;
          if (!job) throw new UsageError(`no job ${id}`);
          const status = jobStatus(job, await tasksOfJob(cluster.state.tasks, id));
          const running = [...live.entries()].filter(([, p]) => Date.now() - p.at < 5000).map(([worker, p]) => ({ worker, ...p }));
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ ...status, live: running })}\n`);
          } else if (jobBar && bars) {
            jobBar.setTotal(Math.max(1, status.tasks.total));
            jobBar.update(status.tasks.done, {
              detail: `${job.state}, stage ${status.stage}, ${Math.round(status.rows.perSecond)} rows/s${status.rows.etaSeconds !== null ? `, ETA ${Math.round(status.rows.etaSeconds)} s` : ''}`,
            });
            for (const p of running) {
              let bar = workerBars.get(p.worker);
              if (!bar) workerBars.set(p.worker, (bar = bars.create(1, 0, { label: p.worker.slice(-16).padEnd(9), unit: 'rows', detail: '' })));
              bar.setTotal(Math.max(p.rows, 1));
              bar.update(p.rows, { detail: `shard ${p.shardId}, ${Math.round(p.rowsPerSecond)} rows/s` });
            }
          } else {
            process.stdout.write(`${statusLine(status)}\n`);
            for (const w of status.workers) process.stdout.write(`  ${w.worker}: ${w.tasks} tasks, ${w.rows} rows, ${Math.round(w.rowsPerSecond)} rows/s\n`);
            for (const p of running)
              process.stdout.write(`  ${p.worker}: running shard ${p.shardId}, ${p.rows} rows so far, ${Math.round(p.rowsPerSecond)} rows/s\n`);
          }
          return job;
        };
        let job = await show();
        while (flags.watch && !isJobFinished(job.state)) {
          await sleep(1000);
          job = await show();
        }
      } finally {
        bars?.stop();
        sub.unsubscribe();
        await cluster.close();
      }
    });
  job
    .command('list')
    .description('Every job with its state')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const { config } = commandContext(globals());
      await withCluster(config, 'sci-job-list', 'cli', async (cluster) => {
        const jobs = (await listJobs(cluster.state.jobs)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        if (flags.json) process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
        else
          for (const j of jobs)
            process.stdout.write(
              `${j.id}  ${j.spec.kind.padEnd(6)} ${j.state.padEnd(8)} ${j.stages[j.stage]} ${j.shards} shards${j.error ? `  ${j.error}` : ''}\n`,
            );
      });
    });
  job
    .command('cancel')
    .description('Cancel a job: running tasks stop between batches, queued ones never run; finished shards keep their outputs')
    .argument('<id>', 'job id', jobIdArgument)
    .option('--json', 'print the job record as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const { config } = commandContext(globals());
      await withCluster(config, 'sci-job-cancel', 'cli', async (cluster) => {
        const record = await controlJob(cluster.nc, 'cancel', id);
        // Until no task of it runs any more (workers stop at their next batch).
        const deadline = Date.now() + 60_000;
        let tasks = await tasksOfJob(cluster.state.tasks, id);
        while (tasks.some((t) => t.state === 'running') && Date.now() < deadline) {
          await sleep(250);
          tasks = await tasksOfJob(cluster.state.tasks, id);
        }
        const count = (state: string) => tasks.filter((t) => t.state === state).length;
        if (flags.json) printRecord(record, true);
        else
          process.stdout.write(
            `${id}: ${record.state} (${count('done')} task(s) done, ${count('cancelled')} cancelled${count('running') ? `, ${count('running')} still stopping` : ''})\n`,
          );
      });
    });
  job
    .command('retry')
    .description('Run a failed or cancelled job again from the stage it stopped in: only the shards that did not finish')
    .argument('<id>', 'job id', jobIdArgument)
    .option('--wait', 'wait until the job ends; exit 1 unless it is done')
    .option('--timeout-ms <ms>', 'with --wait: give up after this long', positiveInt('--timeout-ms'), 3_600_000)
    .option('--json', 'print the job record as JSON')
    .action(async (id: string, flags: { wait?: boolean; json?: boolean; timeoutMs: number }) => {
      const { config } = commandContext(globals());
      await withCluster(config, 'sci-job-retry', 'cli', async (cluster) => {
        await reportJob(cluster.state, await controlJob(cluster.nc, 'retry', id), flags);
      });
    });
  job
    .command('logs')
    .description("A job's tasks stage by stage: state, worker, deliveries, rows, and every error with its reason")
    .argument('<id>', 'job id', jobIdArgument)
    .option('--json', 'print the job and task records as JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      const { config } = commandContext(globals());
      await withCluster(config, 'sci-job-logs', 'cli', async (cluster) => {
        const record = await getRecord(cluster.state.jobs, id, JobRecordSchema);
        if (!record) throw new JobNotFoundError(id);
        const tasks = await tasksOfJob(cluster.state.tasks, id);
        process.stdout.write(flags.json ? `${JSON.stringify({ job: record.value, tasks }, null, 2)}\n` : formatJobLog(record.value, tasks));
      });
    });
  return job;
}

/** Prints the job (followed to its end with --wait, exit code 1 unless it ended done). */
async function reportJob(state: ClusterState, submitted: JobRecord, flags: { wait?: boolean; json?: boolean; timeoutMs: number }): Promise<void> {
  const record = flags.wait ? await followJob(state, submitted, flags) : submitted;
  printRecord(record, flags.json);
  if (flags.wait && record.state !== 'done') process.exitCode = 1;
}

function printRecord(record: JobRecord, json: boolean | undefined): void {
  process.stdout.write(
    json
      ? `${JSON.stringify(record, null, 2)}\n`
      : `${record.id}: ${record.state}${record.outputManifest ? ` → ${record.outputManifest}` : ''}${record.error ? ` (${record.error})` : ''}\n`,
  );
}

/** One line of a job's progress: state, stage, shards, rows/s and ETA. */
export function statusLine(status: JobStatus): string {
  const { job } = status;
  const eta = status.rows.etaSeconds !== null ? `, ETA ${Math.round(status.rows.etaSeconds)} s` : '';
  const cancelled = status.tasks.cancelled > 0 ? `, ${status.tasks.cancelled} cancelled` : '';
  return `${job.id} ${job.state} stage ${status.stage} (${job.stage + 1}/${job.stages.length}): ${status.tasks.done}/${status.tasks.total} shards${cancelled}, ${Math.round(status.rows.perSecond)} rows/s${eta}${job.error ? `, error: ${job.error}` : ''}`;
}

/** How often `--wait` prints a progress line without a terminal. */
const PROGRESS_LINE_MS = 10_000;

/**
 * Follows a job to its end: a bar on a terminal; elsewhere (CI logs, pipes) a progress line at a steady
 * rate and at every stage change, so a long job is never silent.
 */
async function followJob(state: ClusterState, record: JobRecord, flags: { json?: boolean; timeoutMs: number }): Promise<JobRecord> {
  const bar =
    process.stderr.isTTY && !flags.json
      ? new cliProgress.SingleBar({ stream: process.stderr, format: 'job [{bar}] {value}/{total} shards | {stage}' }, cliProgress.Presets.shades_classic)
      : null;
  bar?.start(Math.max(1, record.shards), 0, { stage: record.stages[record.stage] });
  let lastLine = 0;
  let lastStage = -1;
  try {
    return await waitForJob(state, record.id, flags.timeoutMs, async (j) => {
      // On a terminal with --json: no bar (stdout is the JSON). Elsewhere the lines go to stderr either way.
      if (flags.json && process.stderr.isTTY) return;
      const status = jobStatus(j, await tasksOfJob(state.tasks, j.id));
      if (bar) {
        bar.setTotal(Math.max(1, status.tasks.total));
        bar.update(status.tasks.done, { stage: status.stage });
      } else if (Date.now() - lastLine >= PROGRESS_LINE_MS || j.stage !== lastStage) {
        if (!isJobFinished(j.state)) process.stderr.write(`${new Date().toISOString()} ${statusLine(status)}\n`);
        lastLine = Date.now();
        lastStage = j.stage;
      }
    });
  } finally {
    bar?.stop();
  }
}
