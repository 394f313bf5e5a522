import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { runJobLocally } from '../../coordinator/index.js';
import { FaissIndex } from '../../faiss/index.js';
import { readIdColumns, readManifest } from '../../shards/index.js';
import { FsStorage, sha256 } from '../../storage/index.js';
import { readArrowVectors, writeNpy } from '../../vectors/index.js';
import { pythonFaissAvailable, SYSTEM_PYTHON } from '../../bench/python-faiss.js';
import { allPassages } from '../support/shards.js';
import { runSci } from '../support/cli.js';
import { TestCluster } from '../support/cluster.js';
import { tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts } from '../support/wordnet-fixture.js';

/*
 * The export job: a passage set as Parquet (read back with hyparquet: every
 * row once, the same fields), an embedding set as Parquet (the same vectors
 * bit for bit) and as .npy with an ids file (read with numpy and searched
 * with python faiss: the same Flat top-10 as our own index over the set).
 */

let dir = '';
let passages = '';
let embeddings = '';
const storage = new FsStorage('/');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sci-export-'));
  const fixture = await wordnetFixture(dir, 3, { embeddings: true, dim: 48, input: wordnetParts(dir, ['adv']) });
  passages = fixture.passages;
  embeddings = fixture.embeddings!;
});

after(() => rmSync(dir, { recursive: true, force: true }));

interface ExportManifest {
  format: string;
  source: string;
  rowsIn: number;
  rowsWritten: number;
  rowsRejected: number;
  shards: Array<{ id: number; rows: number; files: Array<{ role: string; path: string; sha256: string; bytes: number }> }>;
}

const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ExportManifest;

/** Every file the manifest lists is there with its checksum, and rows in = rows written. */
async function assertListed(out: string, manifest: ExportManifest, rows: number): Promise<void> {
  assert.equal(manifest.rowsIn, rows);
  assert.equal(manifest.rowsWritten, rows);
  assert.equal(manifest.rowsRejected, 0);
  assert.deepEqual(
    manifest.shards.map((s) => s.id),
    [0, 1, 2],
  );
  for (const file of manifest.shards.flatMap((s) => s.files)) {
    const actual = await sha256(join(out, file.path));
    assert.equal(actual.sha256, file.sha256, file.path);
    assert.equal(actual.bytes, file.bytes, file.path);
  }
}

test('a passage set exported as Parquet reads back with hyparquet: every row once, the same id, title and text', { timeout: 120_000 }, async () => {
  const out = join(dir, 'export-passages');
  await runJobLocally({ kind: 'export', input: passages, output: out, format: 'parquet' }, storage);
  const manifest = manifestOf(out);
  assert.equal(manifest.source, 'passages');
  const { manifest: set } = readManifest(passages);
  await assertListed(out, manifest, set.rowsWritten);
  const expected = await allPassages(passages, set);
  const read: Array<{ row_id: bigint; id: string; title: string; text: string }> = [];
  for (const shard of manifest.shards) {
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(join(out, shard.files[0]!.path)) })) as typeof read;
    assert.equal(rows.length, shard.rows);
    read.push(...rows);
  }
  assert.equal(read.length, expected.length);
  const byRow = new Map(read.map((r) => [Number(r.row_id), r]));
  for (const p of expected) {
    const got = byRow.get(p.rowId);
    assert.ok(got, `row ${p.rowId} exported`);
    assert.deepEqual({ id: got.id, title: got.title, text: got.text }, { id: p.externalId, title: p.title, text: p.text });
  }
});

test('an embedding set exported as Parquet holds the same vectors, bit for bit, with their ids', { timeout: 120_000 }, async () => {
  const out = join(dir, 'export-embeddings-parquet');
  await runJobLocally({ kind: 'export', input: embeddings, output: out }, storage);
  const manifest = manifestOf(out);
  assert.equal(manifest.source, 'embeddings');
  const set = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as { shards: Array<{ id: number; path: string; rows: number }> };
  await assertListed(
    out,
    manifest,
    set.shards.reduce((n, s) => n + s.rows, 0),
  );
  for (const shard of set.shards) {
    const file = join(embeddings, shard.path);
    const vectors = readArrowVectors(file, 'embedding');
    const ids = readIdColumns(file);
    const exported = manifest.shards.find((s) => s.id === shard.id)!.files[0]!;
    const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(join(out, exported.path)) })) as Array<{
      row_id: bigint;
      id: string;
      embedding: number[];
    }>;
    assert.equal(rows.length, vectors.count);
    rows.forEach((row, i) => {
      assert.equal(row.row_id, ids.rowIds[i]);
      assert.equal(row.id, ids.externalIds[i]);
      assert.deepEqual(Float32Array.from(row.embedding), vectors.data.subarray(i * vectors.dim, (i + 1) * vectors.dim));
    });
  }
});

test(
  'embeddings exported as .npy with ids: python faiss over them gives the same Flat top-10 as our index',
  { timeout: 180_000, skip: pythonFaissAvailable() ? false : 'python3-faiss is not installed (make test installs it: scripts/ensure-system.sh)' },
  async () => {
    const out = join(dir, 'export-npy');
    await runJobLocally({ kind: 'export', input: embeddings, output: out, format: 'npy' }, storage);
    assert.deepEqual(readdirSync(out).sort(), [
      'embedding-00000.npy',
      'embedding-00001.npy',
      'embedding-00002.npy',
      'ids-00000.jsonl',
      'ids-00001.jsonl',
      'ids-00002.jsonl',
      'manifest.json',
    ]);
    // Our Flat index over the same set, one per shard, searched and merged as scatter-gather does.
    const indexes = join(dir, 'flat-indexes');
    await runJobLocally({ kind: 'index', input: embeddings, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }] }, storage);
    const set = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as { shards: Array<{ id: number; path: string }> };
    const queries = readArrowVectors(join(embeddings, set.shards[1]!.path), 'embedding');
    const nq = 20;
    const queryData = queries.data.slice(0, nq * queries.dim);
    const queriesNpy = join(dir, 'queries.npy');
    writeNpy(queriesNpy, queryData, queries.dim);
    const k = 10;
    const hits: Array<Array<{ id: string; score: number }>> = Array.from({ length: nq }, () => []);
    for (const shard of set.shards) {
      const names = readIdColumns(join(embeddings, shard.path));
      const nameOf = new Map(Array.from(names.rowIds, (row, i) => [row, names.externalIds[i]!] as const));
      const index = await FaissIndex.load(join(indexes, `shard-${String(shard.id).padStart(5, '0')}`, 'flat.faiss'));
      const result = await index.search(queryData, k);
      for (let q = 0; q < nq; q++)
        for (let j = 0; j < k; j++) {
          const label = result.labels[q * k + j]!;
          if (label >= 0n) hits[q]!.push({ id: nameOf.get(label)!, score: result.distances[q * k + j]! });
        }
    }
    const ours = hits.map((list) => list.sort((a, b) => b.score - a.score).slice(0, k));

    const script = [
      'import sys, json, glob, numpy as np, faiss',
      'out, queries, k = sys.argv[1], sys.argv[2], int(sys.argv[3])',
      "x = np.concatenate([np.load(f) for f in sorted(glob.glob(out + '/embedding-*.npy'))])",
      "ids = [json.loads(line)['id'] for f in sorted(glob.glob(out + '/ids-*.jsonl')) for line in open(f)]",
      'assert len(ids) == x.shape[0], (len(ids), x.shape)',
      'index = faiss.IndexFlatIP(x.shape[1]); index.add(x)',
      'D, I = index.search(np.load(queries), k)',
      "print(json.dumps({'rows': int(x.shape[0]), 'ids': [[ids[j] for j in row] for row in I], 'scores': D.tolist()}))",
    ].join('\n');
    const run = spawnSync(SYSTEM_PYTHON, ['-I', '-c', script, out, queriesNpy, String(k)], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const python = JSON.parse(run.stdout) as { rows: number; ids: string[][]; scores: number[][] };
    assert.equal(python.rows, manifestOf(out).rowsWritten);
    for (let q = 0; q < nq; q++) {
      const theirs = python.scores[q]!;
      ours[q]!.forEach((hit, j) => assert.ok(Math.abs(hit.score - theirs[j]!) < 1e-4, `query ${q} rank ${j + 1}: ${hit.score} vs ${theirs[j]}`));
      // The same passages; equal scores may come in either order, so each rank's id is compared as a set of ties.
      assert.deepEqual(new Set(ours[q]!.map((h) => h.id)).size, k);
      const tiedAtCut = ours[q]![k - 1]!.score;
      const firm = (ids: string[], scores: number[]) => new Set(ids.filter((_, j) => Math.abs(scores[j]! - tiedAtCut) > 1e-4));
      assert.deepEqual(
        firm(
          ours[q]!.map((h) => h.id),
          ours[q]!.map((h) => h.score),
        ),
        firm(python.ids[q]!, theirs),
        `query ${q}`,
      );
    }
  },
);

test('export refuses what it cannot write: npy of a passage set, and a set of another kind', { timeout: 60_000 }, async () => {
  await assert.rejects(
    runJobLocally({ kind: 'export', input: passages, output: join(dir, 'x'), format: 'npy' }, storage),
    /npy holds vectors: .* is a passage set/,
  );
  const indexes = join(dir, 'bm25-only');
  await runJobLocally({ kind: 'index', input: null, output: indexes, bm25: { passages } }, storage);
  await assert.rejects(
    runJobLocally({ kind: 'export', input: indexes, output: join(dir, 'y') }, storage),
    /an export reads a passage or embedding set; .* holds sci-cluster\/indexes@1/,
  );
});

test('sci job submit --kind export --format parquet runs on the cluster and a second run rewrites the same files', { timeout: 180_000 }, async (t) => {
  const cluster = await TestCluster.start({ dir: tempDir(t), storageRoot: dir, workers: 1 });
  t.after(() => cluster.stop());
  const out = join(dir, 'export-cluster');
  const submit = () =>
    runSci(['job', 'submit', '--kind', 'export', '--input', embeddings, '--format', 'parquet', '--output', out, '--wait', '--json'], {
      env: { ...cluster.env, ...cluster.roleEnv('cli') },
      timeoutMs: 120_000,
    });
  const first = await submit();
  assert.equal(first.code, 0, first.stderr);
  const manifest = manifestOf(out);
  const sums = manifest.shards.map((s) => s.files[0]!.sha256);
  const second = await submit();
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(
    manifestOf(out).shards.map((s) => s.files[0]!.sha256),
    sums,
    'the same Parquet bytes',
  );
});
