import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { openTextEncoder } from '../../encoder/index.js';
import { TrainConfigSchema, train } from '../../encoder/training/index.js';
import { readManifest, readShardPassages, passageText, sha256File } from '../../shards/index.js';
import { readArrowVectors, readNpy } from '../../vectors/index.js';
import { addDualView, buildDualViewIvf, FaissIndex, setFaissThreads, type SearchResult } from '../../faiss/index.js';
import type { IndexReport } from '../../eval/index.js';
import type { JobRecord } from '../../jobs/index.js';
import { runSci } from '../support/cli.js';
import { splitQueryTexts, wordnetFixture, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';
import { REPO_ROOT } from '../support/paths.js';

/*
 * A trained two-tower checkpoint encodes WordNet's verbs and adverbs through the local cluster:
 * the embedding shards hold both views, and every vector equals (to 1e-5)
 * the one the same checkpoint gives in this process. An index job then
 * builds on the item view, and SCI's dual-view IVF (CI) over both views,
 * which is served and evaluated beside the item-view IVF.
 */

test(
  'encode job with a trained checkpoint: both views, equal to in-process encoding; CI dual-view index job, served and evaluated',
  { timeout: 600_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sci-test-'));
    const env = { SCI_CLUSTER__DIR: join(dir, 'cluster'), SCI_LOG__LEVEL: 'warn', SCI_STORAGE__ROOT: dir };
    t.after(async () => {
      await runSci(['cluster', 'down', '--clean'], { env });
      rmSync(dir, { recursive: true, force: true });
    });
    // WordNet's verbs and adverbs (17k passages): the whole path at a sixth of the suite time.
    const { passages } = await wordnetFixture(dir, 4, { input: wordnetVerbsAndAdverbs(dir) });
    const config = TrainConfigSchema.parse({
      data: { shards: passages },
      model: { kind: 'fast', dim: 32, embeddingDim: 32, towers: 'separate', maxLength: 24 },
      tokenizer: { size: 1000 },
      steps: 30,
      batchSize: 32,
      eval: { every: 30, queries: 200, poolSize: 2000 },
    });
    const trained = await train({ config, outDir: join(dir, 'model'), logger: pino({ level: 'silent' }) });
    assert.equal(trained.steps, 30);

    const up = await runSci(['cluster', 'up', '--workers', '2', '--json'], { env });
    assert.equal(up.code, 0, up.stderr);
    const embeddings = join(dir, 'embeddings');
    const encode = await runSci(
      ['job', 'submit', '--kind', 'encode', '--input', passages, '--output', embeddings, '--model', trained.bestCheckpoint, '--wait', '--json'],
      { env, timeoutMs: 300_000 },
    );
    assert.equal(encode.code, 0, encode.stderr);
    const job = JSON.parse(encode.stdout) as JobRecord;
    assert.equal(job.state, 'done');
    assert.deepEqual(job.stages, ['encode'], 'a trained model needs no fit stage');

    const manifest = JSON.parse(readFileSync(join(embeddings, 'manifest.json'), 'utf8')) as {
      dim: number;
      views: string[];
      rowsIn: number;
      rowsWritten: number;
      encoder: Record<string, unknown>;
      shards: Array<{ id: number; path: string; rows: number; sha256: string }>;
    };
    assert.equal(manifest.dim, 32);
    assert.deepEqual(manifest.views, ['embedding_q', 'embedding_i']);
    assert.equal(manifest.encoder.kind, 'model');
    const { manifest: passageManifest, dir: passageDir } = readManifest(passages);
    assert.equal(manifest.rowsWritten, passageManifest.rowsWritten);

    // The workers encoded on ONNX Runtime (the default engine); this process encodes the same checkpoint on tfjs.
    assert.equal((manifest.encoder.written as Record<string, string>)['encoder.engine'], 'onnxruntime');
    const local = await openTextEncoder(trained.bestCheckpoint, { engine: 'tfjs' });
    let compared = 0;
    let worst = 0;
    const jobItems: Float32Array[] = [];
    const localItems: Float32Array[] = [];
    for (const [i, shard] of passageManifest.shards.entries()) {
      const file = join(embeddings, manifest.shards[i]!.path);
      assert.equal(await sha256File(file), manifest.shards[i]!.sha256);
      const q = readArrowVectors(file, 'embedding_q');
      const item = readArrowVectors(file, 'embedding_i');
      assert.equal(q.count, shard.rows);
      const texts: string[] = [];
      let r = 0;
      for await (const p of readShardPassages(passageDir, shard)) {
        assert.equal(Number(q.ids![r]), p.rowId);
        texts.push(passageText(p));
        r += 1;
      }
      for (const [view, vectors] of [
        ['query', q],
        ['item', item],
      ] as const) {
        const expected = await local.encode(texts, view);
        for (let x = 0; x < expected.length; x++) worst = Math.max(worst, Math.abs(vectors.data[x]! - expected[x]!));
        compared += texts.length;
        if (view === 'item') {
          jobItems.push(vectors.data);
          localItems.push(expected);
        }
      }
    }
    assert.equal(compared, 2 * manifest.rowsWritten);
    assert.ok(worst <= 1e-5, `largest difference between the job (ONNX Runtime) and tfjs: ${worst}`);
    // And the same Flat top-10 for the dev queries (ties within 1e-5 at the cut aside).
    const devQueries = await local.encode(splitQueryTexts(passages, 'dev'), 'query');
    const [onJob, onLocal] = (await Promise.all(
      [jobItems, localItems].map(async (parts) => {
        const flatIndex = FaissIndex.create({ dim: 32, factory: 'Flat', metric: 'ip' });
        const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
        let offset = 0;
        for (const p of parts) {
          all.set(p, offset);
          offset += p.length;
        }
        await flatIndex.add(all);
        return flatIndex.search(devQueries, 11);
      }),
    )) as [SearchResult, SearchResult];
    const devCount = devQueries.length / 32;
    assert.ok(devCount > 100, `${devCount} dev queries`);
    for (let qi = 0; qi < devCount; qi++) {
      const at = (r: { labels: BigInt64Array }) => new Set(Array.from(r.labels.subarray(qi * 11, qi * 11 + 10), Number));
      const gap = onLocal.distances[qi * 11 + 9]! - onLocal.distances[qi * 11 + 10]!;
      if (gap > 1e-5) assert.deepEqual(at(onJob), at(onLocal), `dev query ${qi}: the same Flat top-10`);
    }
    local.dispose();

    // An exported Hugging Face-style folder (the PyTorch fixture: model.onnx, tokenizer.json, sci-encoder.json) through the cluster.
    const hfModel = join(dir, 'hf-model');
    cpSync(join(REPO_ROOT, 'test', 'fixtures', 'onnx-bert'), hfModel, { recursive: true });
    writeFileSync(join(hfModel, 'sci-encoder.json'), JSON.stringify({ pooling: 'mean', maxLength: 64, queryPrefix: 'query: ', itemPrefix: 'passage: ' }));
    const hfEmbeddings = join(dir, 'hf-embeddings');
    const hfJob = await runSci(['job', 'submit', '--kind', 'encode', '--input', passages, '--output', hfEmbeddings, '--model', hfModel, '--wait', '--json'], {
      env,
      timeoutMs: 300_000,
    });
    assert.equal(hfJob.code, 0, hfJob.stderr);
    const hfManifest = JSON.parse(readFileSync(join(hfEmbeddings, 'manifest.json'), 'utf8')) as typeof manifest;
    assert.equal(hfManifest.dim, 64);
    assert.deepEqual(hfManifest.views, ['embedding'], 'one tower: one view');
    assert.equal(hfManifest.rowsWritten, passageManifest.rowsWritten);
    const written = hfManifest.encoder.written as Record<string, string>;
    assert.equal(written['encoder.engine'], 'onnxruntime', 'the manifest names the engine');
    assert.equal(written['encoder.provider'], 'cpu');
    const hfLocal = await openTextEncoder(hfModel);
    const firstShard = passageManifest.shards[0]!;
    const firstTexts: string[] = [];
    for await (const p of readShardPassages(passageDir, firstShard)) if (firstTexts.length < 300) firstTexts.push(passageText(p));
    const expectedHf = await hfLocal.encode(firstTexts, 'item');
    const gotHf = readArrowVectors(join(hfEmbeddings, hfManifest.shards[0]!.path), 'embedding').data.subarray(0, expectedHf.length);
    let worstHf = 0;
    for (let x = 0; x < expectedHf.length; x++) worstHf = Math.max(worstHf, Math.abs(gotHf[x]! - expectedHf[x]!));
    assert.ok(worstHf <= 1e-5, `HF folder: largest difference ${worstHf}`);
    hfLocal.dispose();

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
        'ivf=IVF32,Flat:ip',
        '--index',
        'ci=IVF32,Flat:ip:dual-view',
        '--index',
        'cipq=IVF32,PQ8:ip:dual-view',
        '--wait',
        '--json',
      ],
      { env, timeoutMs: 240_000 },
    );
    assert.equal(index.code, 0, index.stderr);
    const flat = await FaissIndex.load(join(indexes, 'shard-00000', 'flat.faiss'));
    assert.equal(flat.size, passageManifest.shards[0]!.rows);
    // The index holds the item view: a passage's own f_i vector is in it (inner product 1 with itself).
    const items = readArrowVectors(join(embeddings, manifest.shards[0]!.path), 'embedding_i');
    const hit = await flat.search(items.data.subarray(0, 32), 1);
    assert.ok(Math.abs(hit.distances[0]! - 1) < 1e-5, `best inner product ${hit.distances[0]}`);

    // SCI consistent indexing built by the job = the library's dual-view IVF on the same views (query view for
    // k-means and lists, item view stored), searched by query-tower vectors; and it is not the item-view IVF.
    const queries = readArrowVectors(join(embeddings, manifest.shards[0]!.path), 'embedding_q');
    const probe = queries.data.subarray(0, 200 * 32);
    const jobCi = await FaissIndex.load(join(indexes, 'shard-00000', 'ci.faiss'));
    setFaissThreads(1); // as the worker's pool threads build: k-means sums in the same order
    const library = await buildDualViewIvf({ dim: 32, metric: 'ip', nlist: 32, assignView: queries.data, storedView: items.data, ids: items.ids! });
    const jobIvf = await FaissIndex.load(join(indexes, 'shard-00000', 'ivf.faiss'));
    const [a, b, c] = await Promise.all([jobCi, library.index, jobIvf].map((i) => i.search(probe, 10, { nprobe: 2 })));
    assert.deepEqual(a!.labels, b!.labels, 'the job built the dual-view IVF of the library');
    assert.notDeepEqual(a!.labels, c!.labels, 'which differs from the item-view IVF');

    // The same CI indexes with a shared quantizer (sample, train, index stages through the cluster): trained once on
    // the query view, each shard filled from the trained index, so the shards together answer like one global CI index.
    const sharedSet = join(dir, 'indexes-shared');
    const sharedIndexes = ['ci=IVF32,Flat:ip:dual-view', 'cipq=IVF32,PQ8:ip:dual-view'].flatMap((flag) => ['--index', flag]);
    // Also routed: the CI lists placed on 2 partitions (checked through the CLI at the end).
    const sharedArgs = ['--kind', 'index', '--input', embeddings, '--output', sharedSet, ...sharedIndexes, '--sample-rows', '8000', '--routed', '2'];
    const sharedJob = await runSci(['job', 'submit', ...sharedArgs, '--wait', '--json'], { env, timeoutMs: 240_000 });
    assert.equal(sharedJob.code, 0, sharedJob.stderr);
    assert.deepEqual((JSON.parse(sharedJob.stdout) as JobRecord).stages, ['sample', 'train', 'index', 'route']);
    const sharedManifest = JSON.parse(readFileSync(join(sharedSet, 'manifest.json'), 'utf8')) as {
      indexes: Array<{ name: string; quantizer?: { path: string; sampleRows: number } }>;
    };
    for (const name of ['ci', 'cipq']) {
      const quantizer = sharedManifest.indexes.find((i) => i.name === name)!.quantizer!;
      assert.ok(Math.abs(quantizer.sampleRows - 8000) <= manifest.shards.length, `${quantizer.sampleRows} sampled rows`);
      const global = await FaissIndex.load(join(sharedSet, quantizer.path));
      const centroids = readNpy(join(sharedSet, 'trained', `${name}.centroids.npy`)).data;
      const perShard: Array<{ labels: BigInt64Array; distances: Float32Array }> = [];
      for (const shard of manifest.shards) {
        const view = (column: string) => readArrowVectors(join(embeddings, shard.path), column);
        const item = view('embedding_i');
        await addDualView(global, { centroids, metric: 'ip', assignView: view('embedding_q').data, storedView: item.data, ids: item.ids! });
        const own = await FaissIndex.load(join(sharedSet, `shard-${String(shard.id).padStart(5, '0')}`, `${name}.faiss`));
        perShard.push(await own.search(probe, 10, { nprobe: 2 }));
      }
      const expected = await global.search(probe, 10, { nprobe: 2 });
      for (let q = 0; q < 200; q++) {
        const merged = perShard
          .flatMap((r) => Array.from({ length: 10 }, (_, j) => r.distances[q * 10 + j]!))
          .sort((x, y) => y - x)
          .slice(0, 10);
        assert.deepEqual(
          merged.map((d) => d.toFixed(5)),
          Array.from(expected.distances.subarray(q * 10, q * 10 + 10), (d) => d.toFixed(5)),
          `${name} query ${q}: the shards' merged top-10 scores are the global index's`,
        );
      }
    }

    // Served and evaluated through scatter-gather: CI and CI-PQ beside the item-view IVF at every nprobe.
    const serve = await runSci(['cluster', 'serve', '--index-set', indexes, '--processes', '2'], { env, timeoutMs: 120_000 });
    assert.equal(serve.code, 0, serve.stderr);
    const out = join(dir, 'report');
    const evaluated = await runSci(
      [
        'eval',
        '--index-set',
        indexes,
        '--queries',
        passages,
        '--split',
        'dev',
        '--out',
        out,
        '--max-queries',
        '600',
        '--sweep-queries',
        '300',
        '--latency-queries',
        '10',
      ],
      { env, timeoutMs: 240_000 },
    );
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { indexes: IndexReport[] };
    const by = new Map(report.indexes.map((r) => [r.index, r]));
    const grid = [1, 2, 4, 8, 16, 32];
    for (const name of ['ivf', 'ci', 'cipq'])
      assert.deepEqual(
        by.get(name)!.sweep.map((p) => p.value),
        grid,
        name,
      );
    assert.equal(by.get('ci')!.dualView, true);
    assert.equal(by.get('ivf')!.dualView, false);
    assert.ok(by.get('ci')!.servingNprobe! >= 1, 'CI is served at a picked nprobe too');
    // Every list probed, CI-Flat scores the stored item view exactly: Flat's top 10.
    assert.ok(by.get('ci')!.sweep.at(-1)!['annRecall@10']! > 0.999, `CI at nprobe = nlist vs Flat: ${by.get('ci')!.sweep.at(-1)!['annRecall@10']}`);
    assert.ok(by.get('ci')!.partialAnswers === 0 && by.get('cipq')!.partialAnswers === 0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /ivf \(item view\) vs ci \(dual view\)/);
    // Routed CI through the CLI: partitions served (`cluster serve --routed`), the router assigns each query
    // once and asks only the partitions owning its lists; the answers equal data-sharded search of the same set.
    for (const routed of [[], ['--layout', 'routed']]) {
      const served = await runSci(['cluster', 'serve', '--index-set', sharedSet, '--processes', '1', ...routed], { env, timeoutMs: 120_000 });
      assert.equal(served.code, 0, served.stderr);
    }
    // Serving again in the same cluster folder: each API reports its own address (the logs are appended to, and
    // an earlier API's line is not this one's), and processes that are gone leave the Prometheus targets.
    const apiEnv = { ...env, SCI_API__PORT: '0', SCI_API__GRPC_PORT: '0' };
    const apis: Array<{ rest: string; pid: number }> = [];
    for (let i = 0; i < 2; i++) {
      const served = await runSci(['cluster', 'serve', '--index-set', sharedSet, '--processes', '1', '--api', '--json'], { env: apiEnv, timeoutMs: 120_000 });
      assert.equal(served.code, 0, served.stderr);
      apis.push((JSON.parse(served.stdout) as { api: { rest: string; pid: number } }).api);
    }
    assert.notEqual(apis[1]!.rest, apis[0]!.rest, 'the second API reports its own address');
    // The API runs the model on a thread of its own: during one forward pass of 256 long texts, a health check answers.
    const longTexts = Array.from({ length: 256 }, (_, i) => `${'a domesticated carnivorous mammal that runs '.repeat(80)} ${i}`);
    let encodeDoneAt = 0;
    const encoding = fetch(`${apis[1]!.rest}/v1/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ texts: longTexts }),
    }).then(async (response) => {
      encodeDoneAt = performance.now();
      return { status: response.status, body: (await response.json()) as { vectors: number[][] } };
    });
    await sleep(20);
    const health = await fetch(`${apis[1]!.rest}/v1/health`);
    const healthDoneAt = performance.now();
    const encoded = await encoding;
    assert.equal(health.status, 200);
    assert.equal(encoded.status, 200);
    assert.equal(encoded.body.vectors.length, 256);
    assert.ok(healthDoneAt < encodeDoneAt, `health answered ${(encodeDoneAt - healthDoneAt).toFixed(0)} ms before the forward pass ended`);
    process.kill(apis[0]!.pid, 'SIGKILL');
    await sleep(200);
    const third = await runSci(['cluster', 'serve', '--index-set', sharedSet, '--processes', '1', '--json'], { env, timeoutMs: 120_000 });
    assert.equal(third.code, 0, third.stderr);
    const targets = JSON.parse(readFileSync(join(dir, 'cluster', 'prometheus-targets.json'), 'utf8')) as Array<{ labels: { pid: string } }>;
    assert.ok(!targets.some((target) => Number(target.labels.pid) === apis[0]!.pid), 'a killed API is no longer scraped');
    assert.ok(targets.some((target) => Number(target.labels.pid) === apis[1]!.pid));
    const texts = ['a domesticated carnivorous mammal', 'the act of running', 'a large body of water'];
    const ask = async (routed: string[]) => {
      const args = ['search', '--index-set', sharedSet, '--index', 'cipq', '--nprobe', '4', '--k', '10', '--json', ...routed, ...texts];
      const searched = await runSci(args, { env, timeoutMs: 60_000 });
      assert.equal(searched.code, 0, searched.stderr);
      return JSON.parse(searched.stdout) as { hits: Array<Array<{ rowId: number; score: number; text?: string }>>; partial: boolean };
    };
    const [viaShards, viaPartitions] = [await ask([]), await ask(['--layout', 'routed'])];
    assert.equal(viaPartitions.partial, false);
    viaPartitions.hits.forEach((hits, q) => {
      assert.deepEqual(
        hits.map((h) => h.score.toFixed(5)),
        viaShards.hits[q]!.map((h) => h.score.toFixed(5)),
        `routed query ${q}`,
      );
      assert.ok(hits.every((h) => h.text && h.text === viaShards.hits[q]!.find((s) => s.rowId === h.rowId)?.text));
    });

    t.diagnostic(
      grid
        .map(
          (n, i) =>
            `nprobe ${n}: ivf ${by.get('ivf')!.sweep[i]!['Recall@10'].toFixed(4)} ci ${by.get('ci')!.sweep[i]!['Recall@10'].toFixed(4)} cipq ${by.get('cipq')!.sweep[i]!['Recall@10'].toFixed(4)}`,
        )
        .join('; '),
    );
  },
);
