import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsStorage } from '../../storage/index.js';
import { FaissIndex } from '../../faiss/index.js';
import { readArrowVectors } from '../../vectors/index.js';
import { assertSameTopK, referenceOf } from '../support/topk.js';
import { freePort } from '../../messaging/index.js';
import { NAMES, tasksOfJob } from '../../jobs/index.js';
import { canPublish, NATS_ROLES } from '../../access/index.js';
import { TestCluster } from '../support/cluster.js';
import { startSci, type RunningSci } from '../support/cli.js';
import { LoopbackSearch } from '../support/served-set.js';
import { tempDir } from '../support/paths.js';
import { splitQueryTexts } from '../support/wordnet-fixture.js';
import { alive, flatIndexSet, peakRssMiB, rawGet } from '../support/peers.js';

/*
 * Single inputs from a peer that used to end a process (the hostile-peers
 * issue, items 1–4), each against the real processes: the failure stays with
 * the message or request that caused it, and every process keeps serving.
 */

const TOKEN = 'hostile-peers-token-0123456789';

test(
  'answers larger than one NATS message are searched in slices and equal one global index; one query too large for a message is a 400 naming k',
  { timeout: 240_000 },
  async (t) => {
    const dir = tempDir(t);
    // A 64 KiB max_payload: 32 queries × k 1000 answer in ~900 KB per shard, a single query's in ~28 KB.
    const search = await LoopbackSearch.start(t, 'reply-size-test', { maxPayloadBytes: 64 * 1024 });
    const storage = new FsStorage('/');
    const { passages, embeddings, indexes } = await flatIndexSet(dir, 2, { bm25: true });
    const service = await search.serve(storage, indexes, 2, { deadlineMs: 30_000, maxK: 10_000 });
    const queries = splitQueryTexts(passages).slice(0, 32);
    const vectors = await service.encode(queries, 'query');
    const global = FaissIndex.create({ dim: 16, factory: 'Flat', metric: 'ip' });
    const manifest = JSON.parse(readFileSync(join(embeddings!, 'manifest.json'), 'utf8')) as { shards: Array<{ path: string }> };
    for (const shard of manifest.shards) {
      const v = readArrowVectors(join(embeddings!, shard.path), 'embedding');
      await global.add(v.data, v.ids);
    }
    const k = 1000;
    const sliced = await service.search({ index: 'flat', vectors, k });
    assert.equal(sliced.partial, false);
    const expected = await global.search(vectors, k);
    sliced.hits.forEach((hits, q) => assertSameTopK(hits, referenceOf(expected, q, k), `query ${q}`));
    // BM25 the same way: sliced, whole, k hits per query.
    const bm25 = await service.search({ index: 'bm25', queries, k });
    assert.equal(bm25.partial, false);
    assert.equal(bm25.hits.length, queries.length);
    // Requests too large for one message are sliced as well: 32 BM25 queries of 250 distinct terms each (~190 KB of terms).
    const wordy = Array.from({ length: 32 }, (_, q) => Array.from({ length: 250 }, (_, i) => `term${q}x${i}`).join(' '));
    const wordyAnswer = await service.search({ index: 'bm25', queries: wordy, k: 10 });
    assert.equal(wordyAnswer.partial, false, JSON.stringify(wordyAnswer.missingShards));
    assert.equal(wordyAnswer.hits.length, 32);
    // One query whose answer alone is over max_payload: the caller's to change.
    await assert.rejects(
      service.search({ index: 'flat', vectors: vectors.subarray(0, 16), k: 5000 }),
      (err: { code?: string; field?: string; message: string }) => err.code === 'SEARCH_BAD_REQUEST' && err.field === 'k' && /max_payload/.test(err.message),
    );
    // BM25 queries past the shards' term cap are refused naming the query, not answered empty.
    await assert.rejects(service.search({ index: 'bm25', queries: ['dog', Array.from({ length: 300 }, (_, i) => `word${i}x`).join(' ')], k: 10 }), {
      code: 'SEARCH_BAD_REQUEST',
      field: 'queries.1',
    });
    const small = await service.search({ index: 'flat', vectors: vectors.subarray(0, 4 * 16), k: 10 });
    assert.equal(small.partial, false);
    assert.ok(small.hits.every((hits) => hits.length === 10));
  },
);

test(
  'a shard server works on at most maxInFlight requests: a burst beyond is answered RESOURCE_EXHAUSTED at once, and a search every shard turns away is a 503',
  { timeout: 240_000 },
  async (t) => {
    const dir = tempDir(t);
    const search = await LoopbackSearch.start(t, 'admission-test');
    const storage = new FsStorage('/');
    const { passages, indexes } = await flatIndexSet(dir, 2);
    const service = await search.serve(storage, indexes, 2, { deadlineMs: 30_000, maxInFlight: 1 });
    const vectors = await service.encode(splitQueryTexts(passages).slice(0, 64), 'query');
    const outcomes = await Promise.all(
      Array.from({ length: 24 }, () =>
        service.search({ index: 'flat', vectors, k: 100 }).then(
          (response) => (response.partial ? `partial: ${response.missingShards.map((m) => m.reason.split(':')[0]).join(',')}` : 'whole'),
          (err: { code?: string; status?: number }) => `${err.code} ${err.status}`,
        ),
      ),
    );
    const counts = outcomes.reduce<Record<string, number>>((acc, o) => ({ ...acc, [o]: (acc[o] ?? 0) + 1 }), {});
    t.diagnostic(`24 concurrent searches against servers admitting 1 request each: ${JSON.stringify(counts)}`);
    assert.ok(counts.whole! >= 1, JSON.stringify(counts));
    assert.ok((counts['RESOURCE_EXHAUSTED 503'] ?? 0) + (counts['partial: overloaded'] ?? 0) >= 1, JSON.stringify(counts));
    assert.ok(
      Object.keys(counts).every((o) => ['whole', 'RESOURCE_EXHAUSTED 503', 'partial: overloaded'].includes(o)),
      JSON.stringify(counts),
    );
    // Nothing held: after the burst every search is whole again.
    assert.equal((await service.search({ index: 'flat', vectors, k: 100 })).partial, false);
  },
);

test(
  'GET // at every metrics endpoint, junk progress messages and a corrupt task record: every process lives, the job with the corrupt record fails naming it, the next job completes',
  { timeout: 300_000 },
  async (t) => {
    const dir = tempDir(t);
    const { passages, indexes } = await flatIndexSet(dir, 2);
    const cluster = await TestCluster.start({ dir, workers: 1, metrics: true });
    const processes: RunningSci[] = [];
    t.after(async () => {
      for (const p of processes) await p.stop('SIGKILL');
      await cluster.stop({ allowViolations: true });
    });
    const env = (role: 'shard-server' | 'api') => ({ ...cluster.env, ...cluster.roleEnv(role), SCI_LOG__LEVEL: 'warn' });
    const shardMetrics = `127.0.0.1:${await freePort()}`;
    processes.push(
      await startSci(['serve', 'shards', '--index-set', indexes], { env: { ...env('shard-server'), SCI_METRICS__PORT: shardMetrics.split(':')[1]! } }),
    );
    const api = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], { env: { ...env('api'), SCI_API__TOKEN: TOKEN } });
    processes.push(api);
    const { rest } = JSON.parse(api.firstLine) as { rest: string };

    // Item 2: a request target `new URL` cannot parse, at the coordinator's, the worker's and the shard server's endpoint.
    for (const address of [...cluster.metricsTargets.map((m) => m.address), shardMetrics]) {
      for (let attempt = 0; (await rawGet(address, '/metrics').catch(() => 0)) !== 200; attempt++) {
        assert.ok(attempt < 100, `${address} never served /metrics`);
        await sleep(100);
      }
      assert.equal(await rawGet(address, '//'), 404, address);
      assert.equal(await rawGet(address, '/metrics'), 200, `${address} after GET //`);
    }

    // Item 3: what the worker role may publish on sci.progress.*, as junk, while the API follows it.
    const worker = await cluster.connectAs('worker', 'hostile-worker');
    t.after(() => worker.close());
    const job0 = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb0'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
    for (const body of ['', 'null', 'not json', '[]', '{"stage":1}', '{"worker":"w","stage":"encode","shardId":-1,"rows":1,"rowsPerSecond":1}', '1e999']) {
      worker.publish(NAMES.progressSubject(job0.id), new TextEncoder().encode(body));
      worker.publish(NAMES.progressSubject('job-made-up'), new TextEncoder().encode(body));
    }
    await worker.flush();
    assert.equal((await cluster.waitDone(job0.id)).state, 'done');

    // Item 4: the worker role may write task records: one of a running job's keys and one of no job become junk.
    const tasks = await worker.jetstream().views.kv(NAMES.tasksBucket, { bindOnly: true });
    const job1 = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb1'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
    await tasks.put(`${job1.id}.fit.0`, new TextEncoder().encode('null'));
    await tasks.put('job-made-up.encode.0', new TextEncoder().encode('{"jobId": 5}'));
    const failed = await cluster.waitDone(job1.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error ?? '', new RegExp(`${job1.id}\\.fit\\.0 is corrupt`));
    await assert.rejects(tasksOfJob(cluster.state.tasks, job1.id), { code: 'CORRUPT_RECORD' });

    const job2 = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb2'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
    assert.equal((await cluster.waitDone(job2.id)).state, 'done', cluster.logs());

    // Item 11 and least privilege as a whole: every role tries each sensitive action its table does not grant, against
    // the live server (read-only roles writing or purging the object store, anyone but the coordinator changing streams
    // or forging tasks, anyone but the CLI and the pipeline submitting jobs, a worker writing job records, ...).
    const sensitive = [
      `$O.${NAMES.objectBucket}.C.forged`,
      `$JS.API.STREAM.PURGE.OBJ_${NAMES.objectBucket}`,
      `$JS.API.STREAM.DELETE.${NAMES.taskStream}`,
      `$JS.API.STREAM.CREATE.${NAMES.taskStream}`,
      `$JS.API.STREAM.PURGE.KV_${NAMES.jobsBucket}`,
      `$JS.API.CONSUMER.DELETE.${NAMES.taskStream}.${NAMES.workerConsumer}`,
      `$KV.${NAMES.jobsBucket}.forged`,
      `$KV.${NAMES.tasksBucket}.forged`,
      NAMES.taskSubject('encode'),
      NAMES.submitSubject,
      NAMES.jobCancelledSubject,
      '$JS.API.STREAM.NAMES',
    ];
    const refusedPerRole: Record<string, number> = {};
    for (const role of NATS_ROLES.filter((r) => r !== 'admin')) {
      const nc = await cluster.connectAs(role, `hostile-${role}`);
      t.after(() => nc.close());
      const forbidden = sensitive.filter((subject) => !canPublish(role, subject));
      for (const subject of forbidden)
        await assert.rejects(nc.request(subject, new TextEncoder().encode('x'), { timeout: 3000 }), /Permissions Violation for Publish/, `${role}: ${subject}`);
      refusedPerRole[role] = forbidden.length;
    }
    t.diagnostic(`forbidden actions tried and refused per role: ${JSON.stringify(refusedPerRole)}`);
    assert.ok(refusedPerRole.api! >= 10 && refusedPerRole['shard-server']! >= 10 && refusedPerRole.worker! >= 7);

    // Item 10: refused searches on made-up index names add no metric series of their own.
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    for (let i = 0; i < 5; i++) {
      const refused = await fetch(`${rest}/v1/search`, { method: 'POST', headers: auth, body: JSON.stringify({ index: `made-up-${i}`, query: 'dog', k: 10 }) });
      assert.equal(refused.status, 400);
      // The answer names the problem, not where the server keeps its files.
      const { error } = (await refused.json()) as { error: { message: string } };
      assert.match(error.message, /has no index "made-up-\d"/);
      assert.doesNotMatch(error.message, new RegExp(dir));
    }
    const metrics = await (await fetch(`${rest}/metrics`, { headers: auth })).text();
    assert.doesNotMatch(metrics, /index="made-up-/);
    assert.match(metrics, /sci_searches_total\{[^}]*index="unknown"[^}]*outcome="refused"[^}]*\} 5/);

    // Every process is alive and the API still answers.
    assert.ok(alive(cluster.coordinator!), 'coordinator alive');
    assert.ok(cluster.workers.every(alive), 'workers alive');
    for (const p of processes) assert.ok(alive(p.child), 'server alive');
    const health = await fetch(`${rest}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(health.status, 200);
    // The coordinator's watch did not loop on the corrupt records: it replays a record only when the watch restarts.
    const coordinatorLog = readFileSync(join(dir, 'coordinator-0.log'), 'utf8');
    assert.equal(coordinatorLog.match(/task watch ended/g)?.length ?? 0, 0, coordinatorLog);
  },
);

test(
  '64 clients sending the largest allowed searches: answers or 503 RESOURCE_EXHAUSTED with Retry-After, nothing else; memory stays bounded',
  { timeout: 240_000 },
  async (t) => {
    const dir = tempDir(t);
    const { passages, indexes } = await flatIndexSet(dir, 2);
    const cluster = await TestCluster.start({ dir, workers: 0 });
    const processes: RunningSci[] = [];
    t.after(async () => {
      for (const p of processes) await p.stop('SIGKILL');
      await cluster.stop();
    });
    const env = (role: 'shard-server' | 'api') => ({ ...cluster.env, ...cluster.roleEnv(role), SCI_LOG__LEVEL: 'warn' });
    const shards = await startSci(['serve', 'shards', '--index-set', indexes, '--max-in-flight', '8'], { env: env('shard-server') });
    processes.push(shards);
    const api = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], {
      env: { ...env('api'), SCI_API__TOKEN: TOKEN, SCI_API__ADMISSION__RUNNING: '4', SCI_API__ADMISSION__WAITING: '8', SCI_API__DEADLINE_MS: '20000' },
    });
    processes.push(api);
    const { rest } = JSON.parse(api.firstLine) as { rest: string };
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const queries = splitQueryTexts(passages).slice(0, 256);
    // The largest search the API accepts by default: 256 queries at k 1000.
    const body = JSON.stringify({ index: 'flat', queries, k: 1000 });
    const idle = { api: peakRssMiB(api.child.pid!), shards: peakRssMiB(shards.child.pid!) };
    const statuses = new Map<number, number>();
    let retryAfterMissing = 0;
    const until = Date.now() + 8000;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (Date.now() < until) {
          const response = await fetch(`${rest}/v1/search`, { method: 'POST', headers, body });
          const answer = (await response.json()) as { results?: Array<{ hits: unknown[] }>; partial?: boolean; error?: { code: string } };
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status === 200) {
            assert.equal(answer.partial, false);
            assert.equal(answer.results!.length, 256);
          } else if (response.status === 503) {
            assert.equal(answer.error?.code, 'RESOURCE_EXHAUSTED');
            if (response.headers.get('retry-after') !== '1') retryAfterMissing += 1;
            await sleep(50);
          }
        }
      }),
    );
    const peak = { api: peakRssMiB(api.child.pid!), shards: peakRssMiB(shards.child.pid!) };
    t.diagnostic(
      `statuses ${JSON.stringify(Object.fromEntries(statuses))}; peak RSS api ${idle.api.toFixed(0)} → ${peak.api.toFixed(0)} MiB, shard server ${idle.shards.toFixed(0)} → ${peak.shards.toFixed(0)} MiB`,
    );
    assert.deepEqual([...statuses.keys()].sort(), [200, 503], JSON.stringify(Object.fromEntries(statuses)));
    assert.equal(retryAfterMissing, 0);
    assert.ok(alive(api.child) && alive(shards.child));
    assert.ok(peak.api - idle.api < 800, `API grew ${peak.api - idle.api} MiB`);
    assert.ok(peak.shards - idle.shards < 600, `shard server grew ${peak.shards - idle.shards} MiB`);
  },
);
