/*
 * bench/ingest: a generated psgs_w100-like TSV (default 1M lines of ~100
 * words) ingested into Arrow shards, against plain line reading of the same
 * file (node:readline) in the same run. Each phase runs in its own process so
 * peak RSS is measured per phase; bounded memory means the ingest's peak RSS
 * stays far below the file size.
 *
 *   node dist/bench/ingest.js [--rows N] [--keep]
 */
import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runIngest, TsvIngester } from '../shards/index.js';
import { peakRssMiB, runPhase } from './proc.js';

interface PhaseResult {
  phase: string;
  rows: number;
  seconds: number;
  peakRssMiB: number;
}

const SCRIPT = fileURLToPath(import.meta.url);

async function generate(path: string, rows: number): Promise<void> {
  const vocab = Array.from({ length: 5000 }, (_, i) => ((i * 2654435761) >>> 0).toString(36).slice(0, 3 + (i % 7)));
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % vocab.length;
  const out = createWriteStream(path);
  out.write('id\ttext\ttitle\n');
  for (let i = 1; i <= rows; i++) {
    const words: string[] = [];
    for (let w = 0; w < 100; w++) words.push(vocab[next()]!);
    if (!out.write(`${i}\t${words.join(' ')}\t${vocab[next()]} ${vocab[next()]}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

async function phaseReadline(file: string): Promise<PhaseResult> {
  const started = performance.now();
  let rows = 0;
  let chars = 0;
  const lines = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) {
    rows += 1;
    chars += line.length;
  }
  if (chars === 0) throw new Error('empty file');
  return { phase: 'readline', rows: rows - 1, seconds: (performance.now() - started) / 1000, peakRssMiB: peakRssMiB() };
}

async function phaseIngest(file: string, out: string): Promise<PhaseResult> {
  const started = performance.now();
  const { manifest } = await runIngest({
    ingester: new TsvIngester(file),
    format: 'tsv',
    input: file,
    outDir: out,
    layout: { rowsPerShard: 100_000 },
    batchRows: 8192,
    maxLineBytes: 4 << 20,
    excerptChars: 200,
    strict: false,
  });
  if (manifest.rowsIn !== manifest.rowsWritten + manifest.rowsRejected) throw new Error('accounting broken');
  return { phase: 'ingest', rows: manifest.rowsWritten, seconds: (performance.now() - started) / 1000, peakRssMiB: peakRssMiB() };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      phase: { type: 'string' },
      file: { type: 'string' },
      out: { type: 'string' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (values.phase === 'readline') return void console.log(JSON.stringify(await phaseReadline(values.file!)));
  if (values.phase === 'ingest') return void console.log(JSON.stringify(await phaseIngest(values.file!, values.out!)));

  const rows = Number(values.rows);
  const dir = mkdtempSync(join(tmpdir(), 'sci-bench-ingest-'));
  try {
    const file = join(dir, 'psgs.tsv');
    const genStart = performance.now();
    await generate(file, rows);
    const fileMiB = statSync(file).size / 2 ** 20;
    console.error(`generated ${rows.toLocaleString('en-US')} lines, ${fileMiB.toFixed(0)} MiB in ${((performance.now() - genStart) / 1000).toFixed(1)} s`);
    const base = runPhase<PhaseResult>(SCRIPT, ['--phase', 'readline', '--file', file]);
    const ingest = runPhase<PhaseResult>(SCRIPT, ['--phase', 'ingest', '--file', file, '--out', join(dir, 'shards')]);
    const rate = (r: PhaseResult) => r.rows / r.seconds;
    console.log('phase      rows        seconds   rows/s       peak RSS MiB');
    for (const r of [base, ingest])
      console.log(
        `${r.phase.padEnd(10)} ${String(r.rows).padEnd(11)} ${r.seconds.toFixed(2).padEnd(9)} ${Math.round(rate(r)).toString().padEnd(12)} ${r.peakRssMiB.toFixed(0)}`,
      );
    console.log(`ingest / plain line reading throughput: ${(rate(ingest) / rate(base)).toFixed(3)}x`);
    console.log(
      `ingest peak RSS ${ingest.peakRssMiB.toFixed(0)} MiB for a ${fileMiB.toFixed(0)} MiB input (${((100 * ingest.peakRssMiB) / fileMiB).toFixed(0)}% of the file)`,
    );
    console.log(JSON.stringify({ bench: 'ingest', rows, fileMiB, readline: base, ingest, throughputRatio: rate(ingest) / rate(base) }));
  } finally {
    if (!values.keep && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
