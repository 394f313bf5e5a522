import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { freePort } from '../../messaging/index.js';
import { NAMES, type JobRecord } from '../../jobs/index.js';
import { NATS_ROLES, rolePermissions, type NatsRole } from '../../access/index.js';
import { hedgeSubject, indexSetId, SERVERS_SUBJECT, shardSubject } from '../../search/index.js';
import { encodeRequest } from '../../search/protocol.js';
import { TestCluster } from '../support/cluster.js';
import { startSci, type RunningSci } from '../support/cli.js';
import { tempDir } from '../support/paths.js';
import { splitQueryTexts } from '../support/wordnet-fixture.js';
import { alive, flatIndexSet, peakRssMiB, rawHttp } from '../support/peers.js';

/*
 * The hostile-peers proof. While an encode job and a search load run, every
 * role's credentials publish hostile payloads to every subject that role may
 * publish (its permission table, wildcards filled with made-up tokens, plus
 * the real shard, hedge, progress and API subjects), and hostile HTTP and
 * gRPC requests go to the API and to every metrics endpoint. Afterwards every
 * process is alive, the job's shards are each done exactly once, searches
 * answer whole, and no process grew more than 200 MB over its idle peak.
 *
 * A short run is part of `make test`; `make fuzz` runs it longer
 * (FUZZ_ROUNDS rounds of every payload on every subject).
 */

const TOKEN = 'fuzz-peers-token-0123456789';
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 1);
const encoder = new TextEncoder();

/** A subject a permission pattern allows, with made-up tokens where it has wildcards. */
function concrete(pattern: string): string {
  return pattern.replace(/\*/g, 'fuzz').replace(/>$/, 'fuzz.x');
}

/** Payloads no peer should send; each must cost its sender a refusal, never a process. */
function hostilePayloads(validFrame: Uint8Array): Array<[string, Uint8Array]> {
  const truncated = new Uint8Array(12);
  new DataView(truncated.buffer).setUint32(0, 4096, true);
  const lying = Uint8Array.from(validFrame);
  new DataView(lying.buffer).setUint32(0, 0xffffffff, true);
  return [
    ['empty', new Uint8Array()],
    ['null', encoder.encode('null')],
    ['not json', encoder.encode('{"jobId": "job-1", ')],
    ['wrong types', encoder.encode('{"v":2,"op":"dense","index":7,"k":"ten","nq":[],"jobId":{},"stage":1,"shardId":"0","rows":-1}')],
    ['huge numbers', encoder.encode('{"v":2,"op":"dense","index":"flat","k":1e308,"nq":9007199254740993,"dim":1e9,"expiresAt":1e300}')],
    ['NaN', encoder.encode('NaN')],
    ['deep nesting', encoder.encode(`${'['.repeat(50_000)}${']'.repeat(50_000)}`)],
    ['random 64 KiB', randomBytes(64 * 1024)],
    ['truncated frame', truncated],
    ['frame with a lying length', lying],
    ['valid frame', validFrame],
  ];
}

test(
  'fuzz every peer boundary while a job and a search load run: no process exits, the job is exact, searches answer, memory stays bounded',
  { timeout: 600_000 },
  async (t) => {
    const dir = tempDir(t);
    const { passages, indexes } = await flatIndexSet(dir, 4, { bm25: true });
    const cluster = await TestCluster.start({ dir, workers: 1, metrics: true });
    const processes: RunningSci[] = [];
    const connections: NatsConnection[] = [];
    t.after(async () => {
      for (const nc of connections) await nc.close().catch(() => undefined);
      for (const p of processes) await p.stop('SIGKILL');
      // The fuzzer's own publishes to subjects a role may not use are logged as violations on purpose.
      await cluster.stop({ allowViolations: true });
    });
    const env = (role: 'shard-server' | 'api') => ({ ...cluster.env, ...cluster.roleEnv(role), SCI_LOG__LEVEL: 'warn' });
    const shardMetrics = `127.0.0.1:${await freePort()}`;
    const shards = await startSci(['serve', 'shards', '--index-set', indexes], {
      env: { ...env('shard-server'), SCI_METRICS__PORT: shardMetrics.split(':')[1]! },
    });
    processes.push(shards);
    const api = await startSci(['serve', 'api', '--index-set', indexes, '--port', '0', '--grpc-port', '0'], { env: { ...env('api'), SCI_API__TOKEN: TOKEN } });
    processes.push(api);
    const { rest, grpc: grpcAddress } = JSON.parse(api.firstLine) as { rest: string; grpc: string };
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const queries = splitQueryTexts(passages).slice(0, 16);
    const searchOnce = async () => {
      const response = await fetch(`${rest}/v1/search`, { method: 'POST', headers, body: JSON.stringify({ index: 'flat', queries, k: 10 }) });
      return { status: response.status, body: (await response.json()) as { partial?: boolean; results?: unknown[] } };
    };
    assert.equal((await searchOnce()).status, 200);

    const pids: Record<string, number> = {
      coordinator: cluster.coordinator!.pid!,
      worker: cluster.workers[0]!.pid!,
      'shard-server': shards.child.pid!,
      api: api.child.pid!,
    };
    const idle = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, peakRssMiB(pid)]));

    // The job and the search load the fuzzing runs beside.
    const job = await cluster.submit({ kind: 'encode', input: passages, output: join(dir, 'emb-fuzz'), encoder: { kind: 'hashed-tfidf', dim: 16 } });
    const load = { stop: false, answers: 0, other: new Map<number, number>() };
    const searching = Promise.all(
      [0, 1].map(async () => {
        while (!load.stop) {
          const { status } = await searchOnce();
          if (status === 200) load.answers += 1;
          else load.other.set(status, (load.other.get(status) ?? 0) + 1);
        }
      }),
    );

    // Every role, every subject it may publish, every payload.
    const setId = indexSetId(resolve(indexes));
    const validFrame = encodeRequest({ op: 'dense', index: 'flat', k: 10, nq: 1, dim: 16 }, 2000, new Float32Array(16).fill(0.25));
    const payloads = hostilePayloads(validFrame);
    const sent = new Map<string, number>();
    const realSubjects = [
      ...[0, 1, 2, 3].flatMap((s) => [shardSubject(setId, s), hedgeSubject(setId, s)]),
      SERVERS_SUBJECT,
      NAMES.progressSubject(job.id),
      NAMES.submitSubject,
      NAMES.controlSubject,
      NAMES.healthSubject,
      NAMES.taskFailedSubject,
      NAMES.jobCancelledSubject,
      NAMES.taskSubject('encode'),
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const role of NATS_ROLES.filter((r): r is Exclude<NatsRole, 'admin'> => r !== 'admin')) {
        const nc = await cluster.connectAs(role, `fuzz-${role}`);
        connections.push(nc);
        const allowed = (rolePermissions(role).publish.allow ?? []).map(concrete);
        // A publish the server refuses (a subject this role may not use) only costs the fuzzer's connection a -ERR.
        for (const subject of [...new Set([...allowed, ...realSubjects])]) {
          for (const [, payload] of payloads) {
            nc.publish(subject, payload);
            // Requests as well as publishes: a reply subject makes handlers answer (and size their answers).
            if (payload.byteLength < 65_536) nc.request(subject, payload, { timeout: 500, noMux: true }).catch(() => undefined);
          }
          // Replayed and reordered valid frames.
          for (let i = 0; i < 5; i++) nc.publish(subject, i % 2 ? validFrame : validFrame.subarray().reverse());
          sent.set(subject, (sent.get(subject) ?? 0) + payloads.length * 2 + 5);
        }
        await nc.flush().catch(() => undefined);
      }
      // Bodies at NATS's max_payload, to the subjects that decode what they get.
      const cli = await cluster.connectAs('cli', 'fuzz-large');
      connections.push(cli);
      const large = randomBytes(8 * 1024 * 1024 - 4096);
      for (const subject of [shardSubject(setId, 0), NAMES.submitSubject, NAMES.progressSubject(job.id)]) {
        cli.publish(subject, large);
        sent.set(`${subject} (8 MiB)`, (sent.get(`${subject} (8 MiB)`) ?? 0) + 1);
      }
      await cli.flush().catch(() => undefined);
    }

    // Hostile HTTP at the API and every metrics endpoint; hostile gRPC at the API.
    const apiAddress = new URL(rest).host;
    const httpAttempts = [
      'GET // HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /${'a'.repeat(70_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'POST /v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"index":',
      `POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n[[[[[[[[[`,
      `POST /v1/search HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Length: 99999999\r\n\r\n{}`,
      'GET /v1/jobs/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /metrics%00 HTTP/1.1\r\nHost: x\r\n\r\n',
      'BREW / HTCPCP/1.0\r\n\r\n',
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
    ];
    const httpTargets = [apiAddress, shardMetrics, ...cluster.metricsTargets.map((m) => m.address)];
    for (const target of httpTargets) for (const request of httpAttempts) await rawHttp(target, request);
    const client = new grpc.Client(grpcAddress, grpc.credentials.createInsecure());
    const garbageCall = (method: string, bytes: Buffer) =>
      new Promise<void>((resolveCall) =>
        client.makeUnaryRequest(
          method,
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          new grpc.Metadata(),
          { deadline: Date.now() + 5000 },
          () => resolveCall(),
        ),
      );
    for (const method of ['/sci.v1.Search/Search', '/sci.v1.Encode/Encode', '/sci.v1.Jobs/GetJob', '/sci.v1.Nope/Nope'])
      for (const bytes of [Buffer.alloc(0), randomBytes(1024), Buffer.from([0x22, 0xff, 0xff, 0xff, 0xff, 0x0f])]) await garbageCall(method, bytes);
    client.close();

    // The job ends exactly, while the fuzz traffic drains.
    const done = await cluster.waitFor(job.id, (j: JobRecord) => j.state === 'done' || j.state === 'failed', 180_000);
    load.stop = true;
    await searching;
    assert.equal(done.state, 'done', done.error ?? '');
    const tasks = await cluster.tasks(job.id);
    for (const stage of done.stages) {
      const ofStage = tasks.filter((task) => task.stage === stage);
      assert.deepEqual(ofStage.map((task) => task.shardId).sort(), [0, 1, 2, 3], `${stage}: every shard once`);
      assert.ok(ofStage.every((task) => task.state === 'done'));
    }
    const manifest = JSON.parse(readFileSync(join(dir, 'emb-fuzz', 'manifest.json'), 'utf8')) as {
      rowsIn: number;
      rowsWritten: number;
      rowsRejected: number;
      shards: Array<{ rows: number }>;
    };
    assert.equal(manifest.rowsIn, manifest.rowsWritten + manifest.rowsRejected);
    assert.equal(
      manifest.shards.reduce((sum, s) => sum + s.rows, 0),
      manifest.rowsWritten,
    );

    // Alive, answering, bounded.
    for (const [name, pid] of Object.entries(pids)) {
      const child = name === 'shard-server' ? shards.child : name === 'api' ? api.child : name === 'coordinator' ? cluster.coordinator! : cluster.workers[0]!;
      assert.ok(alive(child), `${name} (pid ${pid}) is alive`);
    }
    const after = await searchOnce();
    assert.equal(after.status, 200);
    assert.equal(after.body.partial, false);
    assert.ok(load.answers > 0, 'the search load got answers during the fuzzing');
    const peak = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, peakRssMiB(pid)]));
    const contained = new Map<string, number>();
    for (const target of [shardMetrics, ...cluster.metricsTargets.map((m) => m.address)]) {
      const text = await (await fetch(`http://${target}/metrics`)).text();
      for (const [, site, code, n] of text.matchAll(/sci_contained_errors_total\{site="([^"]+)",code="([^"]+)"[^}]*\} (\d+)/g))
        contained.set(`${site}/${code}`, (contained.get(`${site}/${code}`) ?? 0) + Number(n));
    }
    t.diagnostic(`messages sent: ${[...sent.values()].reduce((a, b) => a + b, 0)} over ${sent.size} subjects (${ROUNDS} round(s))`);
    t.diagnostic(`per subject: ${JSON.stringify(Object.fromEntries(sent))}`);
    t.diagnostic(
      `processes alive: ${Object.keys(pids).length}/${Object.keys(pids).length}; searches during the fuzzing: ${load.answers} answered, others ${JSON.stringify(Object.fromEntries(load.other))}`,
    );
    t.diagnostic(`contained errors by site/code: ${JSON.stringify(Object.fromEntries(contained))}`);
    t.diagnostic(
      `peak RSS MiB idle → after: ${Object.keys(pids)
        .map((name) => `${name} ${idle[name]!.toFixed(0)} → ${peak[name]!.toFixed(0)}`)
        .join(', ')}`,
    );
    for (const name of Object.keys(pids)) assert.ok(peak[name]! - idle[name]! <= 200, `${name} grew ${(peak[name]! - idle[name]!).toFixed(0)} MiB`);
    // The load's other answers may only be admission refusals (never a failure of ours).
    for (const status of load.other.keys()) assert.equal(status, 503, `a search answered ${status} during the fuzzing`);
    await sleep(0);
  },
);
