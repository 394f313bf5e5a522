import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import * as grpc from '@grpc/grpc-js';
import { NatsServerProcess, connectNats, createSecurityBundle } from '../../messaging/index.js';
import { openClusterState } from '../../jobs/index.js';
import { runJobLocally } from '../../coordinator/index.js';
import { FsStorage } from '../../storage/index.js';
import { loadSciProto } from '../../api/grpc.js';
import { runLoad, formatLoad } from '../../scale/index.js';
import { runSci, startSci, type RunningSci } from '../support/cli.js';
import { OpenApiCheck } from '../support/openapi.js';
import { passageLine } from '../../cli/search-cmd.js';
import { wordnetFixture, wordnetVerbsAndAdverbs } from '../support/wordnet-fixture.js';
import { readManifest, readShardPassages } from '../../shards/index.js';
import { connect } from 'nats';
import { indexSetId, shardSubject, PROTOCOL_VERSION } from '../../search/index.js';
import { decodeFrame, encodeFrame } from '../../search/protocol.js';

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/*
 * The query API as deployed: a nats-server, two shard-server processes
 * (shards 0,1 and 2,3), the API process (REST + gRPC, auth on). Checks
 * answers, auth, limits, a bounded load test, and a shard process killed
 * and restarted.
 */

const TOKEN = 'test-token-0123456789abcdef';

test('query API: search over REST and gRPC, auth, limits, load, a killed shard process', { timeout: 420_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-api-'));
  const nats = await NatsServerProcess.start();
  const processes: RunningSci[] = [];
  t.after(async () => {
    for (const p of processes) await p.stop('SIGKILL');
    await nats.stop({ clean: true });
    rmSync(dir, { recursive: true, force: true });
  });
  // The job streams a coordinator would have made: the API shows job records from them.
  const operator = await connectNats({ servers: [nats.url], name: 'operator' });
  await openClusterState(operator, { manage: true });
  await operator.close();
  // Verbs and adverbs (a sixth of WordNet): every index type is served and searched; building them takes seconds.
  const { passages, embeddings } = await wordnetFixture(dir, 4, { embeddings: true, dim: 64, input: wordnetVerbsAndAdverbs(dir) });
  const indexes = join(dir, 'indexes');
  await runJobLocally(
    {
      kind: 'index',
      input: embeddings!,
      output: indexes,
      indexes: [
        { name: 'flat', factory: 'Flat', metric: 'ip' },
        { name: 'hnsw', factory: 'HNSW16,Flat', metric: 'ip' },
        { name: 'ivf', factory: 'IVF32,Flat', metric: 'ip', nprobe: 4 },
        { name: 'ivfpq', factory: 'IVF32,PQ8', metric: 'ip', nprobe: 4 },
        { name: 'pq', factory: 'PQ8', metric: 'ip' },
        { name: 'lsh', factory: 'LSH128', metric: 'l2' },
      ],
      bm25: { passages },
    },
    new FsStorage('/'),
    { threads: 2 },
  );
  const env = {
    SCI_NATS__SERVERS: JSON.stringify([nats.url]),
    SCI_LOG__LEVEL: 'warn',
    SCI_API__TOKEN: TOKEN,
    SCI_API__MAX_REQUEST_BYTES: '65536',
    SCI_STORAGE__ROOT: dir,
  };
  const shardServer = (shards: string) => startSci(['serve', 'shards', '--index-set', indexes, '--shards', shards], { env });
  processes.push(await shardServer('0,1'), await shardServer('2,3'));
  const api = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], { env });
  processes.push(api);
  const { rest, grpc: grpcAddress } = JSON.parse(api.firstLine) as { rest: string; grpc: string };

  const post = async (path: string, body: unknown, token: string | null = TOKEN) => {
    const res = await fetch(`${rest}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const queries = readFileSync(join(passages, 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { text: string; split: string })
    .filter((q) => q.split === 'dev')
    .slice(0, 50)
    .map((q) => q.text);

  // Answers: dense, BM25, hybrid.
  for (const index of ['flat', 'hnsw', 'bm25']) {
    const r = await post('/v1/search', { index, queries: queries.slice(0, 3), k: 5 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.partial, false);
    assert.equal(r.body.results.length, 3);
    assert.equal(r.body.results[0].hits.length, 5);
    assert.match(r.body.results[0].hits[0].id, /^\d{8}-[nvasr]$/);
  }
  const hybrid = await post('/v1/search', { index: 'flat', query: queries[0], k: 5, hybrid: { bm25Weight: 1, denseWeight: 1 } });
  assert.equal(hybrid.status, 200, JSON.stringify(hybrid.body));
  assert.equal(hybrid.body.results[0].hits.length, 5);
  const encoded = await post('/v1/encode', { texts: ['a small dog'], view: 'query' });
  assert.equal(encoded.body.dim, 64);
  const openapi = await fetch(`${rest}/v1/openapi.json`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const openApi = await OpenApiCheck.of(await openapi.json());
  openApi.assertAnswer('POST', '/v1/search', 200, (await post('/v1/search', { index: 'hnsw', query: queries[0], k: 3, fields: ['title', 'text'] })).body);

  // Auth and limits.
  const anonymous = await post('/v1/search', { index: 'flat', query: 'dog', k: 5 }, null);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error.code, 'UNAUTHENTICATED');
  assert.equal((await post('/v1/search', { index: 'flat', query: 'dog', k: 5 }, 'wrong-token-0123456789')).status, 401);
  const tooLarge = await post('/v1/search', { index: 'flat', queries: Array.from({ length: 5000 }, () => 'a fairly long query text') });
  assert.equal(tooLarge.status, 413);
  assert.match(tooLarge.body.error.message, /exceeds the limit of 65536 bytes/);
  // The same without a content-length (chunked): refused once the limit is crossed, still with a 413.
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${rest}/v1/search`,
      { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.write('{"index":"flat","queries":[');
    for (let i = 0; i < 40; i++) req.write(`${'"a fairly long query text",'.repeat(100)}`);
    req.end('"x"]}');
  });
  assert.equal(chunked.status, 413, chunked.body);
  const bigK = await post('/v1/search', { index: 'flat', query: 'dog', k: 5000 });
  assert.equal(bigK.status, 400);
  assert.match(bigK.body.error.message, /k must be an integer from 1 to 1000/);
  const unknownIndex = await post('/v1/search', { index: 'nope', query: 'dog' });
  assert.equal(unknownIndex.status, 400);
  assert.match(unknownIndex.body.error.message, /has no index "nope"/);
  const notJson = await post('/v1/search', '{"index": "flat", "query": ');
  assert.deepEqual([notJson.status, notJson.body.error.code], [400, 'BAD_REQUEST']);
  assert.match(notJson.body.error.message, /body is not JSON/);
  // A JSON body is read as JSON whatever its content-type says (curl -d sends form-urlencoded).
  const formTyped = await fetch(`${rest}/v1/search`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: JSON.stringify({ index: 'flat', query: 'dog', k: 2 }),
  });
  assert.equal(formTyped.status, 200);
  const noRoute = await fetch(`${rest}/v1/nope`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.deepEqual([noRoute.status, ((await noRoute.json()) as { error: { code: string } }).error.code], [404, 'NOT_FOUND']);
  assert.equal((await fetch(`${rest}/v1/nope`)).status, 401, 'unknown routes are not revealed without the token');
  assert.equal((await fetch(`${rest}/v1/jobs/unknown-job`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);

  const proto = loadSciProto();
  const SearchClient = proto.Search;
  const client = new SearchClient(grpcAddress, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const grpcSearch = (request: object, token: string | null = TOKEN) =>
    new Promise<any>((resolve, reject) => {
      const md = new grpc.Metadata();
      if (token) md.set('authorization', `Bearer ${token}`);
      (client as any).search(request, md, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
    });
  // Readable results: on every index type and through both fronts, each hit carries its Arrow row's title and text.
  const rows = new Map<number, { title: string; text: string }>();
  const { manifest: passageManifest, dir: passageDir } = readManifest(passages);
  for (const shard of passageManifest.shards) for await (const p of readShardPassages(passageDir, shard)) rows.set(p.rowId, { title: p.title, text: p.text });
  for (const index of ['flat', 'hnsw', 'ivf', 'ivfpq', 'pq', 'lsh', 'bm25']) {
    const viaRest = await post('/v1/search', { index, queries: queries.slice(0, 4), k: 10, fields: ['title', 'text'] });
    assert.equal(viaRest.status, 200, JSON.stringify(viaRest.body));
    assert.deepEqual(viaRest.body.missingShards, [], index);
    const restHits = (viaRest.body.results as Array<{ hits: Array<{ rowId: number; title: string; text: string }> }>).flatMap((r) => r.hits);
    // BM25 returns only passages that share a term with the query: up to k, and at least one per query here.
    if (index === 'bm25') assert.ok(restHits.length <= 40 && restHits.length >= 4, `${index}: ${restHits.length} hits`);
    else assert.equal(restHits.length, 40, index);
    for (const hit of restHits) assert.deepEqual({ title: hit.title, text: hit.text }, rows.get(hit.rowId), `${index} row ${hit.rowId} over REST`);
    const viaGrpcText = await grpcSearch({ index, queries: queries.slice(0, 4), k: 10, fields: ['title', 'text'] });
    const grpcHits = (viaGrpcText.results as Array<{ hits: Array<{ rowId: number; title: string; text: string }> }>).flatMap((r) => r.hits);
    assert.deepEqual(
      grpcHits.map((h) => h.rowId),
      restHits.map((h) => h.rowId),
      `${index}: the same hits over gRPC`,
    );
    for (const hit of grpcHits) assert.deepEqual({ title: hit.title, text: hit.text }, rows.get(hit.rowId), `${index} row ${hit.rowId} over gRPC`);
  }
  const titlesOnly = await post('/v1/search', { index: 'flat', query: queries[0], k: 3, fields: ['title'], hybrid: { bm25Weight: 1, denseWeight: 1 } });
  for (const hit of titlesOnly.body.results[0].hits as Array<{ rowId: number; title?: string; text?: string }>) {
    assert.equal(hit.title, rows.get(hit.rowId)!.title);
    assert.equal(hit.text, undefined, 'only the fields asked for');
  }
  const idsOnly = await post('/v1/search', { index: 'flat', query: queries[0], k: 3 });
  assert.equal(idsOnly.body.results[0].hits[0].text, undefined, 'no text unless asked');
  const badField = await post('/v1/search', { index: 'flat', query: queries[0], fields: ['body'] });
  assert.equal(badField.status, 400);
  assert.equal(badField.body.error.field, 'fields.0');

  const viaGrpc = await grpcSearch({ index: 'flat', queries: [queries[0]], k: 5 });
  assert.equal(viaGrpc.results[0].hits.length, 5);
  assert.equal(viaGrpc.partial, false);
  await assert.rejects(grpcSearch({ index: 'flat', queries: ['dog'], k: 5 }, null), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED);
  await assert.rejects(
    grpcSearch({ index: 'flat', queries: Array.from({ length: 5000 }, () => 'a fairly long query text'), k: 5 }),
    (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED,
  );

  // Bounded load test on loopback.
  for (const [label, call] of [
    [
      'REST',
      (c: number, i: number) =>
        post('/v1/search', { index: 'hnsw', query: queries[(c * 7 + i) % queries.length], k: 10 }).then((r) => assert.equal(r.status, 200)),
    ],
    ['gRPC', (c: number, i: number) => grpcSearch({ index: 'hnsw', queries: [queries[(c * 7 + i) % queries.length]], k: 10 })],
  ] as const) {
    const result = await runLoad(label, { clients: 4, seconds: 3 }, call);
    t.diagnostic(formatLoad(result));
    assert.equal(result.errors, 0, result.firstError ?? '');
    assert.ok(result.requests > 20);
  }

  // TLS on both fronts (api.tls): HTTPS and gRPC over TLS, verified against the CA that signed the certificate.
  const tlsDir = createSecurityBundle(join(dir, 'api-tls'), { hosts: ['127.0.0.1', 'localhost'], users: [] });
  const tlsApi = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], {
    env: { ...env, SCI_API__TLS__CERT_FILE: tlsDir.certFile, SCI_API__TLS__KEY_FILE: tlsDir.keyFile },
  });
  processes.push(tlsApi);
  const secure = JSON.parse(tlsApi.firstLine) as { rest: string; grpc: string };
  assert.match(secure.rest, /^https:\/\//);
  const ca = readFileSync(tlsDir.caFile);
  const overHttps = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      `${secure.rest}/v1/search`,
      { method: 'POST', ca, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ index: 'flat', query: queries[0], k: 3, fields: ['text'] }));
  });
  assert.equal(overHttps.status, 200, overHttps.body);
  assert.equal((JSON.parse(overHttps.body) as { results: Array<{ hits: unknown[] }> }).results[0]!.hits.length, 3);
  await assert.rejects(fetch(`${secure.rest}/v1/health`), 'an unknown CA is refused by a client that checks it');
  const tlsClient = new SearchClient(secure.grpc, grpc.credentials.createSsl(ca));
  t.after(() => tlsClient.close());
  const overGrpcTls = await new Promise<any>((resolve, reject) => {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    (tlsClient as any).search({ index: 'flat', queries: [queries[0]], k: 3 }, md, (err: grpc.ServiceError | null, res: unknown) =>
      err ? reject(err) : resolve(res),
    );
  });
  assert.equal(overGrpcTls.results[0].hits.length, 3);
  await assert.rejects(
    grpcSearch({ index: 'flat', queries: ['dog'], k: 3 }).then(() => {
      const plain = new SearchClient(secure.grpc, grpc.credentials.createInsecure());
      return new Promise((resolve, reject) =>
        (plain as any).search({ index: 'flat', queries: ['dog'], k: 3 }, new grpc.Metadata(), { deadline: Date.now() + 3000 }, (err: unknown, res: unknown) => {
          plain.close();
          return err ? reject(err) : resolve(res);
        }),
      );
    }),
    'a plaintext gRPC client cannot talk to the TLS port',
  );

  // The CLI client through the same shard servers.
  const cli = await runSci(['search', '--index-set', indexes, '--index', 'hnsw', '--k', '3', queries[0]!, queries[1]!], { env });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout.split('\n').filter((l) => /^\s+\d\. \d{8}-[nvasr]/.test(l)).length, 6, cli.stdout);
  // Each hit line is followed by its passage: "title — text", cut to one line.
  const cliLines = cli.stdout.split('\n');
  const firstHit = cliLines.findIndex((l) => /^\s+1\. \d{8}-[nvasr]/.test(l));
  const firstRow = rows.get(Number(/\(row (\d+),/.exec(cliLines[firstHit]!)![1]))!;
  assert.equal(cliLines[firstHit + 1]!.trim(), passageLine(firstRow.title, firstRow.text));

  // Limits: every field that costs memory or time is refused by name, over REST and gRPC.
  for (const [body, field] of [
    [{ index: 'hnsw', query: 'dog', efSearch: 2147483647 }, 'efSearch'],
    [{ index: 'hnsw', query: 'dog', nprobe: 1e6 }, 'nprobe'],
    [{ index: 'flat', query: 'dog', k: 1e9 }, 'k'],
    [{ index: 'flat', queries: Array.from({ length: 5000 }, () => 'd') }, 'queries'],
    [{ index: 'flat', query: 'x'.repeat(5000) }, 'query'],
  ] as const) {
    const r = await post('/v1/search', body);
    assert.equal(r.status, 400, `${field}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.field, field, JSON.stringify(r.body));
  }
  await assert.rejects(
    grpcSearch({ index: 'hnsw', queries: ['dog'], k: 5, efSearch: 2147483647 }),
    (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /efSearch/.test(err.details),
  );

  // Raw frames straight to a shard server: each gets an error reply with a code, none costs memory.
  const shardPid = processes[0]!.child.pid!;
  const idleRss = rssBytes(shardPid);
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const subject = shardSubject(indexSetId(indexes), 0);
  const ask = async (frame: Uint8Array) => (await nc.request(subject, frame, { timeout: 5000 })).data;
  const vector = new Float32Array(64);
  const raw = [
    [
      'k = 1e9',
      encodeFrame({ v: PROTOCOL_VERSION, expiresAt: Date.now() + 5000, op: 'dense', index: 'flat', k: 1e9, nq: 1, dim: 64 }, vector),
      'CONTRACT_VIOLATION',
    ],
    [
      'efSearch = 2^31 - 1',
      encodeFrame({ v: PROTOCOL_VERSION, expiresAt: Date.now() + 5000, op: 'dense', index: 'hnsw', k: 10, nq: 1, dim: 64, efSearch: 2147483647 }, vector),
      'CONTRACT_VIOLATION',
    ],
    ['malformed', new TextEncoder().encode('\u0010\u0000\u0000\u0000{"op": "dense", '), 'CONTRACT_VIOLATION'],
    [
      'not JSON',
      (() => {
        const f = new Uint8Array(12);
        new DataView(f.buffer).setUint32(0, 8, true);
        f.set(new TextEncoder().encode('notjson!'), 4);
        return f;
      })(),
      'CONTRACT_VIOLATION',
    ],
    ['version 1', encodeFrame({ op: 'dense', index: 'flat', k: 10, nq: 1, dim: 64 }, vector), 'PROTOCOL_VERSION'],
    [
      'payload short',
      encodeFrame({ v: PROTOCOL_VERSION, expiresAt: Date.now() + 5000, op: 'dense', index: 'flat', k: 10, nq: 4000, dim: 64 }, vector),
      'CONTRACT_VIOLATION',
    ],
  ] as const;
  for (const [label, frame, code] of raw) {
    const { header } = decodeFrame(await ask(frame));
    assert.equal((header as { error?: { code: string } }).error?.code, code, `${label}: ${JSON.stringify(header)}`);
  }
  const grown = rssBytes(shardPid) - idleRss;
  t.diagnostic(`shard server RSS after the bad frames: ${(grown / 2 ** 20).toFixed(1)} MiB above idle`);
  assert.ok(grown < 100 * 2 ** 20, `RSS grew by ${grown} bytes`);
  // The server still answers well-formed requests.
  assert.equal((await post('/v1/search', { index: 'flat', query: 'dog', k: 3 })).body.partial, false);

  // A paused shard server: the API answers partial at its deadline, for dense and for BM25 (whose
  // statistics phase must not eat the whole deadline); once resumed, the server drops the expired work.
  process.kill(shardPid, 'SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed) process.kill(shardPid, 'SIGCONT');
  });
  for (const index of ['flat', 'bm25']) {
    const began = performance.now();
    const r = await post('/v1/search', { index, query: queries[0], k: 5, deadlineMs: 600 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.partial, true, `${index}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(
      r.body.missingShards.map((m: { shard: number }) => m.shard),
      [0, 1],
      index,
    );
    assert.ok(
      r.body.results[0].hits.length > 0 && r.body.results[0].hits.every((h: { shard: number }) => h.shard >= 2),
      `${index}: answers from the live shards`,
    );
    assert.ok(performance.now() - began < 1500, `${index} answered in ${performance.now() - began} ms`);
  }
  process.kill(shardPid, 'SIGCONT');
  resumed = true;
  const expiredLog = await waitFor(
    () =>
      processes[0]!
        .stderr()
        .split('\n')
        .find((l) => l.includes('dropped expired search requests')),
    5000,
  );
  assert.ok(expiredLog, `no expired-request line in the shard server's log: ${processes[0]!.stderr().slice(-2000)}`);
  assert.ok((JSON.parse(expiredLog) as { expired: number }).expired >= 1);
  assert.equal((await post('/v1/search', { index: 'flat', query: 'dog', k: 3 })).body.partial, false);

  // A shard process killed: answers within the deadline, partial, naming shards 2 and 3.
  await processes[1]!.stop('SIGKILL');
  const started = performance.now();
  const partial = await post('/v1/search', { index: 'flat', query: queries[0], k: 5, deadlineMs: 500 });
  const took = performance.now() - started;
  assert.equal(partial.status, 200, JSON.stringify(partial.body));
  assert.equal(partial.body.partial, true);
  assert.deepEqual(
    partial.body.missingShards.map((m: { shard: number }) => m.shard),
    [2, 3],
  );
  assert.ok(took < 1500, `answered in ${took} ms`);
  assert.ok(partial.body.results[0].hits.every((h: { shard: number }) => h.shard < 2));
  processes[1] = await shardServer('2,3');
  const full = await post('/v1/search', { index: 'flat', query: queries[0], k: 5, deadlineMs: 2000 });
  assert.equal(full.body.partial, false);
  assert.deepEqual(full.body.missingShards, []);
});
