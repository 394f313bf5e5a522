import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaissIndex } from '../../faiss/index.js';
import { loadBm25 } from '../../bm25/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { readManifest, sha256File } from '../../shards/index.js';
import type { JobRecord } from '../../jobs/index.js';
import { runSci } from '../support/cli.js';
import { wordnetFixture, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';

/*
 * The embedded local cluster as a user runs it: `sci cluster up --workers 2`,
 * an encode job and an index job over WordNet with `sci job submit --wait`,
 * `sci cluster down`.
 */

test('cluster up, encode + index WordNet through two workers, every shard done and loadable', { timeout: 300_000 }, async (t) => {
  // One cleanup hook: the cluster goes down before its folder (and cluster.json) is removed.
  const dir = mkdtempSync(join(tmpdir(), 'sci-test-'));
  const env = { SCI_CLUSTER__DIR: join(dir, 'cluster'), SCI_LOG__LEVEL: 'warn', SCI_STORAGE__ROOT: dir };
  t.after(async () => {
    await runSci(['cluster', 'down', '--clean'], { env });
    rmSync(dir, { recursive: true, force: true });
  });
  // Verbs and adverbs (a sixth of WordNet, six shards): the whole path through the CLI's cluster, in a sixth of the time.
  const { passages } = await wordnetFixture(dir, 6, { input: wordnetVerbsAndAdverbs(dir) });
  const up = await runSci(['cluster', 'up', '--workers', '2', '--json'], { env });
  assert.equal(up.code, 0, up.stderr);
  const cluster = JSON.parse(up.stdout) as { workerPids: number[]; natsUrl: string };
  assert.equal(cluster.workerPids.length, 2);
  assert.match(cluster.natsUrl, /^tls:\/\/127\.0\.0\.1:\d+$/);

  const embeddings = join(dir, 'embeddings');
  const encode = await runSci(['job', 'submit', '--kind', 'encode', '--input', passages, '--output', embeddings, '--dim', '64', '--wait', '--json'], {
    env,
    timeoutMs: 240_000,
  });
  assert.equal(encode.code, 0, encode.stderr);
  const encodeJob = JSON.parse(encode.stdout) as JobRecord;
  assert.equal(encodeJob.state, 'done');
  // Without a terminal --wait prints progress lines (at once, at each stage and every 10 s).
  assert.match(encode.stderr, /Z job-\S+ running stage (fit|encode) \(\d\/2\): \d+\/6 shards/);
  // Every process serves /metrics; `cluster up` lists them for Prometheus.
  const targets = JSON.parse(readFileSync(join(dir, 'cluster', 'prometheus-targets.json'), 'utf8')) as Array<{ targets: string[]; labels: { role: string } }>;
  assert.deepEqual(
    targets.map((x) => x.labels.role),
    ['coordinator', 'worker', 'worker'],
  );
  const scraped = await Promise.all(targets.map(async (x) => (await fetch(`http://${x.targets[0]}/metrics`)).text()));
  assert.match(scraped[0]!, /^sci_tasks\{state="done",stage="encode",role="coordinator"\} 6$/m);
  const workerDone = scraped.slice(1).map((text) => /^sci_worker_tasks_total\{stage="encode",outcome="done",role="worker"\} (\d+)$/m.exec(text)?.[1] ?? '0');
  assert.equal(
    workerDone.reduce((sum, n) => sum + Number(n), 0),
    6,
    'the workers ran the 6 encode tasks between them',
  );
  assert.deepEqual(encodeJob.stages, ['fit', 'encode']);

  const passageManifest = readManifest(passages).manifest;
  const embeddingManifest = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as {
    rowsIn: number;
    rowsWritten: number;
    rowsRejected: number;
    dim: number;
    shards: Array<{ id: number; path: string; rows: number; sha256: string; firstRowId: number }>;
  };
  assert.deepEqual(
    embeddingManifest.shards.map((s) => s.id),
    [0, 1, 2, 3, 4, 5],
  );
  assert.equal(embeddingManifest.rowsIn, passageManifest.rowsWritten);
  assert.equal(embeddingManifest.rowsIn, embeddingManifest.rowsWritten + embeddingManifest.rowsRejected);
  for (const [i, shard] of embeddingManifest.shards.entries()) {
    assert.equal(shard.rows, passageManifest.shards[i]!.rows);
    assert.equal(shard.firstRowId, passageManifest.shards[i]!.firstRowId);
    assert.equal(await sha256File(join(embeddings, shard.path)), shard.sha256);
    const vectors = readArrowVectors(join(embeddings, shard.path), 'embedding');
    assert.equal(vectors.dim, 64);
    assert.equal(Number(vectors.ids![0]), shard.firstRowId);
  }

  const indexes = join(dir, 'indexes');
  const index = await runSci(
    [
      'job',
      'submit',
      '--kind',
      'index',
      '--input',
      embeddings,
      '--output',
      indexes,
      '--index',
      'flat=Flat:ip',
      '--index',
      'ivf=IVF16,Flat:ip',
      '--index',
      'ivfpq=IVF16,PQ8x4:ip',
      '--index',
      'hnsw=HNSW16,Flat:ip',
      '--index',
      'pq=PQ8x4:ip',
      '--index',
      'lsh=LSH64:l2',
      '--bm25',
      passages,
      '--wait',
      '--json',
    ],
    { env, timeoutMs: 240_000 },
  );
  assert.equal(index.code, 0, index.stderr);
  assert.equal((JSON.parse(index.stdout) as JobRecord).state, 'done');
  const indexManifest = JSON.parse(readFileSync(join(indexes, 'manifest.json'), 'utf8')) as {
    rowsIn: number;
    shards: Array<{ id: number; rows: number; files: Array<{ role: string; path: string; sha256: string }> }>;
  };
  assert.equal(indexManifest.rowsIn, passageManifest.rowsWritten);
  assert.deepEqual(
    indexManifest.shards.map((s) => s.id),
    [0, 1, 2, 3, 4, 5],
  );
  for (const shard of indexManifest.shards) {
    assert.deepEqual(
      shard.files
        .filter((f) => f.role.startsWith('faiss:'))
        .map((f) => f.role)
        .sort(),
      ['faiss:flat', 'faiss:hnsw', 'faiss:ivf', 'faiss:ivfpq', 'faiss:lsh', 'faiss:pq'],
    );
    for (const file of shard.files) assert.equal(await sha256File(join(indexes, file.path)), file.sha256);
    const flat = await FaissIndex.load(join(indexes, `shard-${String(shard.id).padStart(5, '0')}`, 'flat.faiss'));
    assert.equal(flat.size, shard.rows);
    const bm25 = loadBm25(join(indexes, `shard-${String(shard.id).padStart(5, '0')}`, 'bm25'), { verify: true });
    assert.equal(bm25.docCount, shard.rows);
  }
  const status = await runSci(['job', 'status', (JSON.parse(index.stdout) as JobRecord).id, '--json'], { env });
  assert.equal(status.code, 0, status.stderr);
  const parsed = JSON.parse(status.stdout) as { tasks: { done: number; total: number }; workers: Array<{ worker: string }> };
  assert.deepEqual([parsed.tasks.done, parsed.tasks.total], [6, 6]);
  assert.ok(parsed.workers.length >= 1);

  const clusterStatus = await runSci(['cluster', 'status', '--json'], { env });
  assert.equal(clusterStatus.code, 0, clusterStatus.stderr);
  const live = JSON.parse(clusterStatus.stdout) as {
    coordinator: { ok: boolean } | null;
    workers: Array<{ threads: number; tasksDone: number; backend: string; encoder?: { engine: string; provider: string | null; threads: number } }>;
  };
  assert.equal(live.coordinator?.ok, true);
  assert.equal(live.workers.length, 2, clusterStatus.stdout);
  // Each worker announces the inference engine its pool threads encode with (ONNX Runtime on the CPU here).
  assert.ok(
    live.workers.every((w) => w.threads === 1 && w.backend === 'onnxruntime/cpu' && w.encoder?.engine === 'onnxruntime' && w.encoder.threads === 1),
    clusterStatus.stdout,
  );
  const list = await runSci(['job', 'list', '--json'], { env });
  assert.equal((JSON.parse(list.stdout) as unknown[]).length, 2, list.stdout);

  // Every process ran as its NATS role over TLS, and none was refused a subject it needed.
  const natsLog = readFileSync(join(dir, 'cluster', 'nats', 'sci-local.log'), 'utf8');
  assert.doesNotMatch(natsLog, /Violation/, 'a cluster process was refused a subject');
  const down = await runSci(['cluster', 'down'], { env });
  assert.equal(down.code, 0, down.stderr);
  for (const pid of cluster.workerPids) assert.throws(() => process.kill(pid, 0));
  assert.equal(existsSync(join(dir, 'cluster', 'cluster.json')), false);
});
