import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage, sha256 } from '../../storage/index.js';
import { FaissIndex } from '../../faiss/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { Bm25Builder, EnglishAnalyzer } from '../../bm25/index.js';
import { DprJsonIngester, readManifest, readShardPassages, passageText, runIngest } from '../../shards/index.js';
import {
  hasAnswer,
  mergeCandidates,
  NegativeFilterSchema,
  NegativesWriter,
  openCandidates,
  readCandidates,
  readNegativesFile,
  readQuerySplit,
  type NegativeRow,
} from '../../mine/index.js';
import { openSetEncoder } from '../../search/query-encoder.js';
import { TestCluster } from '../support/cluster.js';
import { needsSharedData, SHARED_DATA, tempDir } from '../support/paths.js';
import { wordnetFixture, wordnetParts, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';

/*
 * Mine jobs on a real cluster (nats-server with TLS and roles, coordinator,
 * two workers) over 8 shards (4 repeated the same merge with less to merge,
 * for 33 s of suite time): for every WordNet training query, the
 * negatives equal one global index's top-K minus the judged positives,
 * within score ties: dense per-shard Flat against one global Flat, and BM25
 * with the stats stage's corpus-wide statistics against one global BM25
 * index built over the whole corpus. The merge runs as one part per shard
 * (by query range); the parts joined equal one merge's file byte for byte.
 */

const K = 10;

interface Reference {
  rowIds: number[];
  scores: number[];
  /** Every score the reference saw for the query, past K too: a tie at the K-th place can swap rows in or out. */
  seen: number[];
}

/** Compares one query's mined rows with the reference; returns whether tied scores were ordered differently. */
function sameWithinTies(rows: readonly NegativeRow[], ref: Reference, what: string): boolean {
  assert.equal(rows.length, ref.rowIds.length, `${what}: ${rows.length} negatives, reference ${ref.rowIds.length}`);
  let reordered = false;
  for (let j = 0; j < rows.length; j++) {
    assert.ok(
      Math.abs(rows[j]!.score - ref.scores[j]!) <= 1e-4 * Math.max(1, Math.abs(ref.scores[j]!)),
      `${what} rank ${j}: score ${rows[j]!.score} vs ${ref.scores[j]}`,
    );
    if (rows[j]!.rowId !== ref.rowIds[j]) {
      // Only where the score is shared with a neighbour (a tie the two orders may break differently).
      const tied = ref.seen.filter((s) => Math.abs(s - ref.scores[j]!) <= 1e-4 * Math.max(1, Math.abs(s))).length > 1;
      assert.ok(tied, `${what} rank ${j}: row ${rows[j]!.rowId} vs ${ref.rowIds[j]} at a distinct score`);
      reordered = true;
    }
  }
  return reordered;
}

for (const shards of [8]) {
  test(
    `mine jobs over ${shards} shards: every training query's negatives equal a global index's top-${K} minus positives (dense Flat and BM25)`,
    { timeout: 600_000 },
    async (t) => {
      const dir = tempDir(t);
      const storage = new FsStorage('/');
      // Verbs and adverbs (a sixth of WordNet): every training query is still compared, in a sixth of the time.
      const { passages, embeddings } = await wordnetFixture(dir, shards, { embeddings: true, dim: 32, input: wordnetVerbsAndAdverbs(dir) });
      const indexes = join(dir, 'indexes');
      await runJobLocally(
        { kind: 'index', input: embeddings!, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }], bm25: { passages } },
        storage,
        { threads: 2 },
      );
      const cluster = await TestCluster.start({ dir, workers: 2 });
      t.after(() => cluster.stop());
      const submit = async (source: object, output: string) => {
        const job = await cluster.submit({ kind: 'mine', input: indexes, output, queries: { passages, split: 'train' }, source, k: K } as never);
        const done = await cluster.waitDone(job.id, 400_000);
        assert.equal(done.state, 'done', done.error ?? '');
        return done;
      };
      const denseJob = await submit({ kind: 'dense', index: 'flat' }, join(dir, 'neg-dense'));
      const bm25Job = await submit({ kind: 'bm25' }, join(dir, 'neg-bm25'));
      assert.deepEqual(denseJob.stages, ['queries', 'mine', 'merge', 'concat']);
      assert.deepEqual(bm25Job.stages, ['stats', 'mine', 'merge', 'concat']);

      // The training split as the job read it.
      const { manifest, dir: setDir } = readManifest(passages);
      const split = readQuerySplit(join(setDir, manifest.queries!.path), join(setDir, manifest.qrels!.splits.train!.path));
      assert.ok(split.ids.length > 10_000, `${split.ids.length} training queries`);
      const byQuery = (file: string) => {
        const map = new Map<string, NegativeRow[]>();
        for (const row of readNegativesFile(file)) {
          if (!map.has(row.queryId)) map.set(row.queryId, []);
          map.get(row.queryId)!.push(row);
        }
        return map;
      };

      // Dense: one global Flat over every embedding shard, the same query encoder.
      const parts = JSON.parse(readFileSync(join(embeddings!, 'manifest.json'), 'utf8')) as { shards: Array<{ path: string }> };
      const global = FaissIndex.create({ dim: 32, factory: 'Flat', metric: 'ip' });
      const externalOf = new Map<number, string>();
      for (const shard of parts.shards) {
        const v = readArrowVectors(join(embeddings!, shard.path), ['embedding']);
        await global.add(v.data, v.ids);
      }
      for (let s = 0; s < manifest.shards.length; s++) {
        for await (const p of readShardPassages(setDir, manifest.shards[s]!)) externalOf.set(p.rowId, p.externalId);
      }
      const { encoder, close } = await openSetEncoder(storage, embeddings!);
      const queries = await encoder!.encode(split.texts, 'query');
      close();
      const extra = Math.max(...split.positives.map((p) => p.size));
      const exact = await global.search(queries, K + extra);
      const dense = byQuery(join(dir, 'neg-dense', 'negatives.arrow'));
      let denseTies = 0;
      for (let q = 0; q < split.ids.length; q++) {
        const ref: Reference = { rowIds: [], scores: [], seen: Array.from(exact.distances.subarray(q * (K + extra), (q + 1) * (K + extra))) };
        for (let j = 0; j < K; j++) {
          const row = Number(exact.labels[q * (K + extra) + j]!);
          if (row < 0 || split.positives[q]!.has(externalOf.get(row)!)) continue;
          ref.rowIds.push(row);
          ref.scores.push(exact.distances[q * (K + extra) + j]!);
        }
        if (sameWithinTies(dense.get(split.ids[q]!) ?? [], ref, `dense query ${split.ids[q]}`)) denseTies += 1;
      }

      // BM25: one index over the whole corpus (its own statistics are the corpus's).
      const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
      for (const shard of manifest.shards) for await (const p of readShardPassages(setDir, shard)) builder.add(p.rowId, p.externalId, passageText(p));
      const bm25Global = builder.build();
      const analyzer = new EnglishAnalyzer();
      const lexical = byQuery(join(dir, 'neg-bm25', 'negatives.arrow'));
      let bm25Ties = 0;
      for (let q = 0; q < split.ids.length; q++) {
        const all = bm25Global.searchTerms(analyzer.analyze(split.texts[q]!), K + 1);
        const hits = all.slice(0, K).filter((h) => !split.positives[q]!.has(h.externalId));
        const ref = { rowIds: hits.map((h) => h.rowId), scores: hits.map((h) => h.score), seen: all.map((h) => h.score) };
        if (sameWithinTies(lexical.get(split.ids[q]!) ?? [], ref, `bm25 query ${split.ids[q]}`)) bm25Ties += 1;
      }
      const manifestOf = (name: string) =>
        JSON.parse(readFileSync(join(dir, name, 'manifest.json'), 'utf8')) as { account: { queriesIn: number; withNegatives: number; withNone: number } };
      for (const name of ['neg-dense', 'neg-bm25']) {
        const { account } = manifestOf(name);
        assert.equal(account.queriesIn, split.ids.length);
        assert.equal(account.withNegatives + account.withNone, account.queriesIn);
      }

      // The merge ran as one part per shard on two workers; joined, the parts are one merge's file byte for byte.
      for (const [name, job, source] of [
        ['neg-dense', denseJob, 'dense:flat'],
        ['neg-bm25', bm25Job, 'bm25'],
      ] as const) {
        const mergeTasks = (await cluster.tasks(job.id)).filter((task) => task.stage === 'merge');
        assert.equal(mergeTasks.length, shards, `${name}: one merge part per shard`);
        const jobManifest = JSON.parse(readFileSync(join(dir, name, 'manifest.json'), 'utf8')) as { stage: string; filter: unknown; account: unknown };
        const candidates = await Promise.all(
          manifest.shards.map((s) => openCandidates(join(dir, name, 'candidates', `shard-${String(s.id).padStart(5, '0')}.arrow`))),
        );
        const single = join(dir, `${name}-single.arrow`);
        const writer = new NegativesWriter(single);
        const account = await mergeCandidates(
          candidates,
          split,
          K,
          NegativeFilterSchema.parse(jobManifest.filter),
          { stage: jobManifest.stage, source, checkpoint: null, step: null },
          writer,
        );
        writer.commit();
        await Promise.all(candidates.map((c) => c.close()));
        assert.ok(readFileSync(single).equals(readFileSync(join(dir, name, 'negatives.arrow'))), `${name}: the parts joined = one merge, byte for byte`);
        assert.deepEqual(jobManifest.account, account, `${name}: the parts' accounts summed = one merge's account`);
      }
      t.diagnostic(`${split.ids.length} training queries; tied scores ordered differently: dense ${denseTies}, bm25 ${bm25Ties}`);
    },
  );
}

test('a worker SIGKILLed in the middle of a mine task: the negatives file is byte-identical to an uninterrupted run', { timeout: 300_000 }, async (t) => {
  const dir = tempDir(t);
  const storage = new FsStorage('/');
  const { passages, embeddings } = await wordnetFixture(dir, 4, { embeddings: true, dim: 32 });
  const indexes = join(dir, 'indexes');
  await runJobLocally(
    { kind: 'index', input: embeddings!, output: indexes, indexes: [{ name: 'flat', factory: 'Flat', metric: 'ip' }], bm25: { passages } },
    storage,
    { threads: 2 },
  );
  const cluster = await TestCluster.start({ dir, workers: 0 });
  t.after(() => cluster.stop());
  const spec = (output: string) =>
    ({ kind: 'mine', input: indexes, output, queries: { passages, split: 'dev' }, source: { kind: 'dense', index: 'flat' }, k: 50 }) as never;
  // Killed after its first task computed, before it published: the task is redelivered to the next worker.
  const doomed = cluster.startWorker({ SCI_FAULT_CRASH_AT: 'before-publish' });
  const died = new Promise<string>((resolve) => doomed.once('exit', (code, signal) => resolve(`${code}/${signal}`)));
  const interrupted = await cluster.submit(spec(join(dir, 'interrupted')));
  assert.equal(await died, 'null/SIGKILL');
  cluster.startWorker();
  const a = await cluster.waitDone(interrupted.id);
  assert.equal(a.state, 'done', a.error ?? '');
  const clean = await cluster.submit(spec(join(dir, 'clean')));
  const b = await cluster.waitDone(clean.id);
  assert.equal(b.state, 'done', b.error ?? '');
  const tasks = await cluster.tasks(interrupted.id);
  assert.ok(
    tasks.some((task) => task.deliveries >= 2),
    'one task ran twice',
  );
  const bytes = (name: string) => readFileSync(join(dir, name, 'negatives.arrow'));
  assert.ok(bytes('clean').length > 100_000);
  assert.ok(bytes('interrupted').equals(bytes('clean')), 'byte-identical negatives');
});

test('DPR sample: no judged positive and no passage containing an answer is ever a negative', { skip: needsSharedData('nq-dpr-sample') }, async (t) => {
  const dir = tempDir(t);
  const storage = new FsStorage('/');
  const file = join(SHARED_DATA, 'nq-dpr-sample', 'nq-dev-sample.dpr.json');
  const passages = join(dir, 'passages');
  await runIngest({
    ingester: new DprJsonIngester(file, { split: 'dev' }),
    format: 'dpr',
    input: file,
    outDir: passages,
    layout: { shardCount: 2 },
    batchRows: 100,
    maxLineBytes: 1 << 22,
    excerptChars: 100,
    strict: false,
  });
  const indexes = join(dir, 'indexes');
  await runJobLocally({ kind: 'index', input: null, output: indexes, indexes: [], bm25: { passages } }, storage, { threads: 1 });
  const out = join(dir, 'negatives');
  await runJobLocally({ kind: 'mine', input: indexes, output: out, queries: { passages, split: 'dev' }, source: { kind: 'bm25' }, k: 100 }, storage, {
    threads: 1,
  });
  const { manifest, dir: setDir } = readManifest(passages);
  const split = readQuerySplit(join(setDir, manifest.queries!.path), join(setDir, manifest.qrels!.splits.dev!.path));
  assert.ok(
    split.answers.every((a) => a.length > 0),
    'the sample carries answers',
  );
  const texts = new Map<string, string>();
  for (const shard of manifest.shards) for await (const p of readShardPassages(setDir, shard)) texts.set(p.externalId, passageText(p));
  const rows = readNegativesFile(join(out, 'negatives.arrow'));
  assert.ok(rows.length > 0);
  for (const row of rows) {
    const q = split.ids.indexOf(row.queryId);
    assert.equal(split.positives[q]!.has(row.passageId), false, `${row.passageId} is judged relevant for ${row.queryId}`);
    assert.equal(hasAnswer(texts.get(row.passageId)!, split.answers[q]!), false, `${row.passageId} contains an answer of ${row.queryId}`);
  }
  const account = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { account: { removed: Record<string, number> } }).account;
  // The answer marks were made: the judged positives found (DPR positives contain their answer) carry them.
  const marked = manifest.shards
    .map((s) => readCandidates(join(out, 'candidates', `shard-${String(s.id).padStart(5, '0')}.arrow`)))
    .flatMap((c) => c.lists.flat())
    .filter((h) => h.hasAnswer);
  assert.ok(marked.length >= account.removed.positive!, `${marked.length} candidates marked has_answer, ${account.removed.positive} positives in the top-100`);
  assert.ok(marked.every((h) => texts.has(h.externalId)));
  t.diagnostic(`DPR sample: ${rows.length} negatives; removed ${JSON.stringify(account.removed)}`);
});

test(
  'a malformed queries file fails a mine task on its first delivery, naming the file and line (not retried to max_deliver)',
  { timeout: 180_000 },
  async (t) => {
    const dir = tempDir(t);
    const storage = new FsStorage('/');
    const { passages } = await wordnetFixture(dir, 2, { input: wordnetParts(dir, ['adv']) });
    const indexes = join(dir, 'indexes');
    await runJobLocally({ kind: 'index', input: null, output: indexes, bm25: { passages } }, storage);
    // The same set with line 3 of its queries file broken, its manifest's checksum updated to match (a writer's bug, not a torn copy).
    const bad = join(dir, 'bad-passages');
    cpSync(passages, bad, { recursive: true });
    const manifestPath = join(bad, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { queries: { path: string; sha256: string } };
    const queriesPath = join(bad, manifest.queries.path);
    const lines = readFileSync(queriesPath, 'utf8').split('\n');
    lines[2] = '{"_id": "broken", "text": ';
    writeFileSync(queriesPath, lines.join('\n'));
    manifest.queries.sha256 = (await sha256(queriesPath)).sha256;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const cluster = await TestCluster.start({ dir, workers: 1, maxDeliver: 4 });
    t.after(() => cluster.stop());
    const job = await cluster.submit({
      kind: 'mine',
      input: indexes,
      output: join(dir, 'negatives'),
      queries: { passages: bad, split: 'train' },
      source: { kind: 'bm25' },
    });
    const done = await cluster.waitDone(job.id, 120_000);
    assert.equal(done.state, 'failed');
    assert.match(done.error ?? '', /QUERIES_FORMAT: .*queries\.jsonl:3: invalid JSON/);
    const failed = (await cluster.tasks(job.id)).filter((task) => task.state === 'failed');
    assert.ok(failed.length > 0);
    for (const task of failed) assert.equal(task.deliveries, 1, `${task.stage} ${task.shardId} failed on its first delivery`);
  },
);
