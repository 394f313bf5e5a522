/*
 * bench/ingest-scale: `sci generate passages | sci ingest --input -` (the
 * corpus-scale bench's ingest stage, the same commands) at several sizes, one
 * after the other on this machine, so the per-row cost of the largest against
 * the smallest measures the code and not two machines (the 1M and 21M
 * corpus-scale records ran on different machines). Every size starts alike:
 * the previous size's set deleted and, as root, the page cache emptied. Per
 * size: wall time, CPU seconds and peak RSS of the generator and of the
 * ingest (which of the two bounds the stream), bytes written.
 *
 *   node dist/bench/ingest-scale.js [--rows 1000000,21000000] [--rows-per-shard 62500] [--kind synsets|zipf] [--dir DIR] [--record FILE] [--keep]
 *
 * --record docs/scale/ingest-scale.json also regenerates the README block
 * from it. Each size's set is deleted once measured unless --keep.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from './repo.js';
import { duBytes, exited, processSampler } from './proc.js';
import { captureProvenance } from '../results/index.js';
import { spawnSci } from '../cli/sci-process.js';
import { readManifest } from '../shards/index.js';
import {
  INGEST_SCALE_BLOCK,
  INGEST_SCALE_RECORD,
  perRowRatio,
  renderIngestScaleMarkdown,
  type IngestScaleRecord,
  type IngestScaleRun,
} from './ingest-scale-record.js';
import { replaceReadmeBlock, writeRecordFile } from './record-file.js';
import { size } from './corpus-scale-record.js';

/** Bytes a passage takes as Arrow (0.85 KB measured at 1M and 21M), with room to spare. */
const BYTES_PER_ROW = 1_000;
const DROP_CACHES = '/proc/sys/vm/drop_caches';

/** Writes dirty pages out and empties the page cache where this process may (root); says whether it did. */
function dropPageCache(): boolean {
  execFileSync('sync');
  try {
    writeFileSync(DROP_CACHES, '1');
    return true;
  } catch {
    return false;
  }
}

async function ingestOnce(rows: number, rowsPerShard: number, kind: string, out: string): Promise<IngestScaleRun> {
  rmSync(out, { recursive: true, force: true });
  const pageCacheDropped = dropPageCache();
  const env = { SCI_LOG__LEVEL: 'warn', SCI_LOG__PRETTY: 'false' };
  const children: ChildProcess[] = [];
  const sampler = processSampler(() => ({ generator: children[0]?.pid ? [children[0].pid] : [], ingest: children[1]?.pid ? [children[1].pid] : [] }));
  const started = performance.now();
  const generator = spawnSci(['generate', 'passages', '--rows', String(rows), '--kind', kind, '--out', '-'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  // Child to child, as a shell's `|`: the bench does not relay the stream (its own CPU would go unmeasured).
  const ingest = spawnSci(['ingest', '--format', 'tsv', '--input', '-', '--out', out, '--rows-per-shard', String(rowsPerShard)], {
    env,
    stdio: [generator.stdout!, 'ignore', 'inherit'],
  });
  children.push(generator, ingest);
  const shards = Math.ceil(rows / rowsPerShard);
  const progress = setInterval(() => {
    // The ingest makes the folder once its first rows arrive.
    const written = existsSync(out) ? readdirSync(out, { recursive: true }).filter((f) => String(f).endsWith('.arrow')).length : 0;
    console.log(`  ${size(rows)}: ${((performance.now() - started) / 1000).toFixed(0)} s, ${written} of ${shards} shards`);
  }, 30_000);
  try {
    const ends = [exited(generator, 'sci generate passages'), exited(ingest, 'sci ingest')];
    // The first to fail stops the other, so neither is left writing; then both have ended.
    for (const end of ends) end.catch(() => children.forEach((c) => c.kill('SIGTERM')));
    const settled = await Promise.allSettled(ends);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    clearInterval(progress);
    sampler.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const peaks = sampler.peaks;
  const { manifest } = readManifest(out);
  // Every generated row is written or rejected with a reason; a generated corpus has nothing to reject.
  if (manifest.rowsWritten !== rows)
    throw new Error(`${out}: ${manifest.rowsWritten} of ${rows} generated passages written, ${manifest.rowsRejected} rejected (see ${manifest.rejectedPath})`);
  return {
    rows,
    shards: manifest.shards.length,
    seconds,
    cpuSeconds: { generator: sampler.cpuSeconds.generator ?? 0, ingest: sampler.cpuSeconds.ingest ?? 0 },
    peakRssMiB: { generator: peaks.generator ?? 0, ingest: peaks.ingest ?? 0 },
    bytes: duBytes(out),
    pageCacheDropped,
  };
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes positive integers, not ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000,21000000' },
      'rows-per-shard': { type: 'string', default: '62500' },
      kind: { type: 'string', default: 'synsets' },
      dir: { type: 'string' },
      record: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (values.kind !== 'synsets' && values.kind !== 'zipf') throw new Error(`--kind is synsets or zipf, not ${values.kind}`);
  // Smallest first: every size's per-row cost is read against the smallest's.
  const sizes = values.rows
    .split(',')
    .map((r) => positive('rows', r))
    .sort((a, b) => a - b);
  const rowsPerShard = positive('rows-per-shard', values['rows-per-shard']);
  const dir = resolve(values.dir ?? join(REPO, 'out', 'ingest-scale'));
  const madeDir = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  // One size on disk at a time, unless --keep keeps them all.
  const needed = (values.keep ? sizes.reduce((n, r) => n + r, 0) : sizes[sizes.length - 1]!) * BYTES_PER_ROW;
  const { bavail, bsize } = statfsSync(dir);
  if (bavail * bsize < needed)
    throw new Error(
      `these sizes need about ${Math.ceil(needed / 2 ** 30)} GiB in ${dir}; it has ${Math.floor((bavail * bsize) / 2 ** 30)} GiB free (give --dir)`,
    );
  // The code that runs, named before the run (a checkout during a long run would otherwise be recorded).
  const provenance = captureProvenance();
  console.log(`bench/ingest-scale: ${sizes.map(size).join(', ')} ${values.kind} passages, ${rowsPerShard} a shard, in ${dir}`);

  const runs: IngestScaleRun[] = [];
  for (const rows of sizes) {
    const out = join(dir, `passages-${rows}`);
    // A size that fails keeps its set (and its reject log) for looking at.
    const run = await ingestOnce(rows, rowsPerShard, values.kind, out);
    runs.push(run);
    console.log(
      `${size(rows).padStart(5)}  ${run.seconds.toFixed(1).padStart(7)} s  ${(rows / run.seconds).toFixed(0).padStart(7)} passages/s  per row ×${perRowRatio(run, runs[0]!).toFixed(2)}  ` +
        `CPU generator ${run.cpuSeconds.generator.toFixed(1)} s, ingest ${run.cpuSeconds.ingest.toFixed(1)} s  peak RSS ${run.peakRssMiB.generator.toFixed(0)} / ${run.peakRssMiB.ingest.toFixed(0)} MiB  ` +
        `${(run.bytes / 2 ** 20).toFixed(0)} MiB${run.pageCacheDropped ? '' : '  (page cache not emptied: not root)'}`,
    );
    if (!values.keep) rmSync(out, { recursive: true, force: true });
  }
  if (values.keep) console.log(`kept ${dir}`);
  else if (madeDir) rmSync(dir, { recursive: true, force: true });

  const record: IngestScaleRecord = {
    format: INGEST_SCALE_RECORD,
    command: `node dist/bench/ingest-scale.js --rows ${sizes.join(',')} --rows-per-shard ${rowsPerShard} --kind ${values.kind}`,
    provenance,
    kind: values.kind,
    rowsPerShard,
    runs,
  };
  console.log(JSON.stringify(record));
  if (values.record) {
    const file = resolve(values.record);
    writeRecordFile(file, record);
    console.log(`record: ${file}`);
    if (file === join(REPO, 'docs', 'scale', 'ingest-scale.json')) {
      replaceReadmeBlock(join(REPO, 'README.md'), INGEST_SCALE_BLOCK, 'ingest-scale', renderIngestScaleMarkdown(record));
      console.log('README: the ingest-scale block regenerated from docs/scale/ingest-scale.json');
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
