import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, sha256File, type Manifest } from '../../shards/index.js';
import type { Command, CommanderError } from 'commander';
import { buildProgram } from '../../cli/main.js';
import { runSci } from '../support/cli.js';
import { SCI_BIN } from '../../cli/sci-process.js';
import { needsSharedData, REPO_ROOT, SHARED_DATA, tempDir } from '../support/paths.js';

test('sci ingest --format beir on SciFact: 5183 rows in four checksummed shards', { skip: needsSharedData('scifact') }, async (t) => {
  const out = join(tempDir(t), 'out');
  const result = await runSci(['ingest', '--format', 'beir', '--input', join(SHARED_DATA, 'scifact'), '--shards', '4', '--out', out, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const manifest = JSON.parse(result.stdout) as Manifest;
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [5183, 5183, 0]);
  assert.equal(manifest.shards.length, 4);
  assert.equal(
    manifest.shards.reduce((sum, s) => sum + s.rows, 0),
    5183,
  );
  for (const shard of manifest.shards) assert.equal(await sha256File(join(out, shard.path)), shard.sha256);
  assert.equal(manifest.queries?.rowsWritten, 210);
  assert.equal(manifest.qrels?.rowsWritten, 232);
  const verify = await runSci(['shards', 'verify', out]);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /^ok: 4 shards, 5183 rows/);
});

test('the same with broken lines: counts add up, each broken line named, --strict exits non-zero', { skip: needsSharedData('scifact') }, async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'scifact-broken');
  mkdirSync(input);
  const lines = readFileSync(join(SHARED_DATA, 'scifact', 'corpus.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  // Line numbers (1-based) after the edits below: 11 truncated JSON, 101 a duplicate of line 1, 1001 empty text.
  lines[10] = lines[10]!.slice(0, 40);
  lines[100] = lines[0]!;
  lines[1000] = JSON.stringify({ _id: 'empty-doc', title: '', text: '' });
  writeFileSync(join(input, 'corpus.jsonl'), `${lines.join('\n')}\n`);
  copyFileSync(join(SHARED_DATA, 'scifact', 'queries.jsonl'), join(input, 'queries.jsonl'));

  const out = join(dir, 'out');
  const result = await runSci(['ingest', '--format', 'beir', '--input', input, '--shards', '4', '--out', out, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const manifest = JSON.parse(result.stdout) as Manifest;
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [5183, 5180, 3]);
  const rejected = readFileSync(join(out, 'rejected.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; reason: string; source: string });
  assert.deepEqual(
    rejected.map((r) => [r.line, r.reason]),
    [
      [11, 'malformed_json'],
      [101, 'duplicate_id'],
      [1001, 'empty_text'],
    ],
  );
  assert.ok(rejected.every((r) => r.source.endsWith('corpus.jsonl')));

  const strictOut = join(dir, 'strict');
  const strict = await runSci(['ingest', '--format', 'beir', '--input', input, '--shards', '4', '--out', strictOut, '--strict']);
  assert.equal(strict.code, 3);
  assert.match(strict.stderr, /strict mode: 3 row\(s\) rejected/);
  assert.equal(existsSync(join(strictOut, 'manifest.json')), false);
});

test('sci ingest --format wordnet: about 117k passages and 48k queries split train/dev/test', async (t) => {
  const out = join(tempDir(t), 'wn');
  const result = await runSci(['ingest', '--format', 'wordnet', '--out', out, '--json', '--rows-per-shard', '40000']);
  assert.equal(result.code, 0, result.stderr);
  const manifest = JSON.parse(result.stdout) as Manifest;
  assert.ok(manifest.rowsWritten > 115_000 && manifest.rowsWritten < 120_000, String(manifest.rowsWritten));
  assert.equal(manifest.rowsRejected, 0);
  assert.deepEqual(manifest.shards.map((s) => s.rows).slice(0, 2), [40_000, 40_000]);
  const queries = manifest.queries!;
  assert.ok(queries.rowsWritten > 45_000 && queries.rowsWritten < 52_000, String(queries.rowsWritten));
  assert.deepEqual(Object.keys(queries.splits).sort(), ['dev', 'test', 'train']);
  assert.ok(queries.splits.train! > 6 * queries.splits.dev!);
  assert.equal(manifest.qrels?.rowsWritten, queries.rowsWritten);
  // The judgments of a split name exactly that split's queries.
  const devQrels = readFileSync(join(out, 'qrels', 'dev.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t')[0]);
  const devQueries = readFileSync(join(out, 'queries.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { _id: string; split: string })
    .filter((q) => q.split === 'dev')
    .map((q) => q._id);
  assert.deepEqual(devQrels.sort(), devQueries.sort());
});

test('usage errors and bad config exit 2 with a message naming the problem', async (t) => {
  const both = await runSci(['ingest', '--format', 'wordnet', '--out', join(tempDir(t), 'x'), '--shards', '2', '--rows-per-shard', '5']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --shards or --rows-per-shard/);
  const badInt = await runSci(['ingest', '--format', 'wordnet', '--out', 'x', '--shards', '0']);
  assert.equal(badInt.code, 2);
  assert.match(badInt.stderr, /--shards expects a positive integer/);
  const noInput = await runSci(['ingest', '--format', 'beir', '--out', 'x']);
  assert.equal(noInput.code, 2);
  assert.match(noInput.stderr, /--input is required/);
  const badEnv = await runSci(['config', 'print'], { env: { SCI_WORKERS__POOL__THREADS: '0' } });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /workers\.pool\.threads: expected a positive integer/);
  const missing = await runSci(['ingest', '--format', 'tsv', '--input', '/nonexistent/psgs.tsv', '--out', join(tempDir(t), 'y')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nonexistent\/psgs\.tsv/);
});

test('sci config print shows the resolved config with overrides', async () => {
  const result = await runSci(['config', 'print', '--json'], { env: { SCI_INGEST__ROWS_PER_SHARD: '1234' } });
  assert.equal(result.code, 0, result.stderr);
  const config = JSON.parse(result.stdout) as { ingest: { rowsPerShard: number }; nats: { servers: string[] } };
  assert.equal(config.ingest.rowsPerShard, 1234);
  assert.deepEqual(config.nats.servers, []);
});

test('every command has --help', async () => {
  // Every command of the real program tree, so a new command cannot go unchecked; commander's own --help
  // path runs in-process (a process per command costs half a second each) ...
  const paths: string[][] = [];
  const walk = (command: Command, path: string[]): void => {
    paths.push(path);
    for (const sub of command.commands) walk(sub, [...path, sub.name()]);
  };
  walk(buildProgram(), []);
  assert.ok(paths.length > 40, `${paths.length} commands`);
  for (const path of paths) {
    const program = buildProgram();
    let printed = '';
    const capture = (command: Command): void => {
      command.configureOutput({ writeOut: (text) => (printed += text), writeErr: (text) => (printed += text) });
      command.commands.forEach(capture);
    };
    capture(program);
    await assert.rejects(program.parseAsync([...path, '--help'], { from: 'user' }), (err: CommanderError) => err.exitCode === 0, path.join(' '));
    assert.match(printed, new RegExp(`^Usage: sci${path.map((p) => ` ${p}`).join('')}( |$)`, 'm'), path.join(' '));
  }
  // ... and the launcher, as a user runs it.
  for (const args of [['--help'], ['job', 'submit', '--help']]) {
    const result = await runSci(args);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stdout, /Usage: sci/);
  }
});

test('sci generate passages --out - | sci ingest --format tsv --input -: the same shards as from the file, no copy on disk; gzip and other formats refused on stdin; sci generate queries writes judged queries into the set', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'psgs.tsv');
  const generated = await runSci(['generate', 'passages', '--rows', '3000', '--seed', '3', '--out', file]);
  assert.equal(generated.code, 0, generated.stderr);
  const fromFile = await runSci(['ingest', '--format', 'tsv', '--input', file, '--out', join(dir, 'from-file'), '--shards', '3', '--json']);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const sh = (command: string) => spawnSync('bash', ['-o', 'pipefail', '-c', command], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  const piped = sh(
    `node ${SCI_BIN} generate passages --rows 3000 --seed 3 --out - | node ${SCI_BIN} ingest --format tsv --input - --out ${join(dir, 'piped')} --shards 3 --json`,
  );
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stderr, /3000 synsets passages, [\d.]+ MiB, in [\d.]+ s: standard output/);
  const a = JSON.parse(fromFile.stdout) as Manifest;
  const b = JSON.parse(piped.stdout) as Manifest;
  assert.equal(b.rowsWritten, 3000);
  assert.deepEqual(b.source, { ...a.source, input: '-', files: ['-'] }, 'standard input is named as such');
  assert.deepEqual(
    b.shards.map((s) => [s.rows, s.sha256]),
    a.shards.map((s) => [s.rows, s.sha256]),
    'the same Arrow shards, byte for byte',
  );
  assert.deepEqual(
    readdirSync(join(dir, 'piped')).filter((f) => f.endsWith('.tsv')),
    [],
    'no corpus copy on disk',
  );

  const gz = sh(`gzip -c ${file} | node ${SCI_BIN} ingest --format tsv --input - --out ${join(dir, 'gz')}`);
  assert.equal(gz.status, 1);
  assert.match(gz.stderr, /standard input is gzip-compressed: decompress it on the way/);
  const beir = await runSci(['ingest', '--format', 'beir', '--input', '-', '--out', join(dir, 'beir')]);
  assert.equal(beir.code, 2);
  assert.match(beir.stderr, /--input - \(standard input\) reads --format tsv only/);

  // Queries with known answers, written into the piped set; bad splits are a usage error.
  const queries = await runSci(['generate', 'queries', '--passages', join(dir, 'piped'), '--splits', 'train=40,dev=10,test=10', '--seed', '2']);
  assert.equal(queries.code, 0, queries.stderr);
  assert.match(queries.stdout, /^60 queries \(train 40, dev 10, test 10\), [\d.]+ words a query swapped for a synonym, \d+ hard negatives/);
  const withQueries = readManifest(join(dir, 'piped')).manifest;
  assert.deepEqual(withQueries.queries?.splits, { train: 40, dev: 10, test: 10 });
  assert.equal(withQueries.shards.length, 3);
  const badSplits = await runSci(['generate', 'queries', '--passages', join(dir, 'from-file'), '--splits', 'train=0']);
  assert.equal(badSplits.code, 2);
  assert.match(badSplits.stderr, /--splits: expected name=count/);
  const again = await runSci(['generate', 'queries', '--passages', join(dir, 'piped')]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already has queries, judgments or negatives/);
});
