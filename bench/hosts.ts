import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NATS_ROLES, type NatsRole } from '../access/index.js';
import { createSecurityBundle, NatsServerProcess } from '../messaging/index.js';
import { percentile } from '../eval/index.js';
import { DELAY_PROXY_SCRIPT, type ProxyCounts } from '../test/support/delay-proxy.js';
import { hostEnv, hostsUnavailable, NamespaceHosts, provisionHost, type Host } from '../test/support/hosts.js';
import { wordnetParts } from '../test/support/wordnet-fixture.js';
import { renderHostsMarkdown, type HostsReport, type HostsRun } from './hosts-report.js';
import { REPO } from './repo.js';
import { SCI_BIN, shardServerArgs } from '../cli/sci-process.js';

/*
 * The main path across three hosts (network namespaces, no shared disk, the object store only), at
 * 0 ms and at 20 ms between hosts: time per command, bytes between hosts and in the object store,
 * search latency through the API on A. Root only (`ip netns`).
 *
 * The delay: each host's processes talk to their own NATS node only, and the nodes' routes (which
 * then carry everything between hosts: task messages, records, object chunks, searches) go through
 * a proxy per host pair that holds each chunk for the delay each way (delay-proxy.ts; this kernel
 * has no netem). The 0 ms pass goes through the same proxies, so the ratio is the delay's alone.
 *
 *   node dist/bench/hosts.js [--delays 0,20] [--queries 200] [--write] [--keep]
 *
 * --write stores docs/hosts/report.json and prints the README block; --keep keeps the hosts' folders.
 */

const SCI = SCI_BIN;
const CLIENT_PORT = 4222;
const ROUTE_PORT = 6222;
/** Host i reaches host j's route port through 127.0.0.1:(PROXY_BASE + j). */
const PROXY_BASE = 16_300;
const SEARCH_PHRASES = [
  'move quickly',
  'in a careful manner',
  'to a great degree',
  'speak softly',
  'without delay',
  'cause to grow',
  'in a friendly way',
  'change shape',
];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : undefined;
}

async function runOnce(delayMs: number, queries: number, keep: boolean): Promise<{ run: HostsRun; passages: number }> {
  const set = await NamespaceHosts.create(3);
  const scratch = mkdtempSync(join(tmpdir(), 'sci-bench-hosts-'));
  const nats: NatsServerProcess[] = [];
  try {
    const [a, b, c] = set.hosts as [Host, Host, Host];
    const bundle = createSecurityBundle(join(scratch, 'security'), {
      hosts: ['127.0.0.1', 'localhost', ...set.hosts.map((h) => h.address)],
      users: NATS_ROLES,
    });
    const provisioned = set.hosts.map((h) => provisionHost(h, bundle));
    const countFiles: string[] = [];
    for (const from of set.hosts)
      for (const to of set.hosts.filter((h) => h !== from)) {
        const countFile = join(from.dir, `proxy-to-${to.index}.json`);
        countFiles.push(countFile);
        set.spawn(
          from,
          process.execPath,
          [DELAY_PROXY_SCRIPT, '127.0.0.1', String(PROXY_BASE + to.index), to.address, String(ROUTE_PORT), String(delayMs), countFile],
          {
            log: join(from.dir, 'proxy.log'),
          },
        );
      }
    await sleep(500);
    nats.push(
      ...(await Promise.all(
        set.hosts.map((h, i) =>
          NatsServerProcess.start({
            name: `n${i}`,
            host: h.address,
            port: CLIENT_PORT,
            storeDir: join(h.dir, 'nats'),
            cluster: {
              name: 'sci',
              port: ROUTE_PORT,
              routes: set.hosts.filter((o) => o !== h).map((o) => `127.0.0.1:${PROXY_BASE + o.index}`),
              noAdvertise: true,
            },
            security: provisioned[i]!.server,
            wrap: ['ip', 'netns', 'exec', h.ns],
          }),
        ),
      )),
    );
    // Each host's processes on their own node only: everything between hosts crosses the delayed routes.
    const env = (host: Host, role: NatsRole) => hostEnv(host, role, [`tls://${host.address}:${CLIENT_PORT}`]);
    const start = (host: Host, role: NatsRole, args: string[], log: string, extra: Record<string, string> = {}) =>
      set.spawn(host, process.execPath, [SCI, ...args], { env: { ...env(host, role), ...extra }, log: join(host.dir, log) });
    const sci = async (args: string[]): Promise<string> => {
      const r = await set.execIn(a, process.execPath, [SCI, ...args], { env: env(a, 'cli'), timeoutMs: 900_000 });
      if (r.code !== 0) throw new Error(`sci ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
      return r.stdout;
    };
    const timed = async (args: string[]): Promise<number> => {
      const t0 = performance.now();
      const out = await sci(args);
      if (args.includes('--wait') && (JSON.parse(out) as { state: string }).state !== 'done') throw new Error(`sci ${args.join(' ')}: ${out}`);
      return (performance.now() - t0) / 1000;
    };

    start(a, 'coordinator', ['coordinator', 'run'], 'coordinator.log');
    start(b, 'worker', ['worker', 'run'], 'worker.log');
    start(c, 'worker', ['worker', 'run'], 'worker.log');
    const dict = wordnetParts(a.dir, ['verb', 'adv']);
    const ingest = await timed(['ingest', '--format', 'wordnet', '--input', dict, '--out', 'wn/passages', '--shards', '4']);
    const submit = ['job', 'submit', '--wait', '--json'];
    const encode = await timed([...submit, '--kind', 'encode', '--input', 'wn/passages', '--output', 'wn/embeddings', '--dim', '32']);
    const indexArgs = ['--index', 'flat=Flat:ip', '--index', 'ivfpq=IVF16,PQ8:ip', '--index', 'hnsw=HNSW16,Flat:ip', '--bm25', 'wn/passages'];
    const index = await timed([...submit, '--kind', 'index', '--input', 'wn/embeddings', '--output', 'wn/indexes', ...indexArgs]);
    const mine = await timed([
      ...submit,
      '--kind',
      'mine',
      '--input',
      'wn/indexes',
      '--queries',
      'wn/passages',
      '--source',
      'dense:flat',
      '--output',
      'wn/mined',
    ]);
    const stored = JSON.parse(await sci(['storage', 'ls', 'wn', '--json'])) as { bytes: number };
    await sci(['storage', 'get', 'wn/passages/manifest.json', join(a.dir, 'got')]);
    const manifest = JSON.parse(readFileSync(join(a.dir, 'got', 'manifest.json'), 'utf8')) as { shards: Array<{ rows: number }> };

    start(b, 'shard-server', shardServerArgs('wn/indexes', { shards: [0, 1] }), 'shards.log');
    start(c, 'shard-server', shardServerArgs('wn/indexes', { shards: [2, 3] }), 'shards.log');
    start(a, 'api', ['serve', 'api', '--index-set', 'wn/indexes'], 'api.log', { SCI_API__PORT: '8080', SCI_API__GRPC_PORT: '50051' });
    // A client inside A: waits for whole answers, then times `queries` sequential searches.
    const client = `
      const phrases = ${JSON.stringify(SEARCH_PHRASES)};
      const ask = (i) => fetch('http://127.0.0.1:8080/v1/search', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ index: 'flat', queries: [phrases[i % phrases.length], phrases[(i + 3) % phrases.length]], k: 10 }) })
        .then(async (r) => ({ status: r.status, body: await r.json() }), () => ({ status: 0 }));
      (async () => {
        for (const deadline = Date.now() + 180000; ; ) {
          const r = await ask(0);
          if (r.status === 200 && !r.body.partial) break;
          if (Date.now() > deadline) throw new Error('no whole answer: ' + JSON.stringify(r));
          await new Promise((ok) => setTimeout(ok, 1000));
        }
        const ms = [];
        for (let i = 0; i < ${queries}; i++) {
          const t0 = performance.now();
          const r = await ask(i);
          if (r.status !== 200 || r.body.partial) throw new Error('search ' + i + ': ' + JSON.stringify(r).slice(0, 300));
          ms.push(performance.now() - t0);
        }
        console.log(JSON.stringify(ms));
      })().catch((e) => { console.error(e.message); process.exit(1); });`;
    const searched = await set.execIn(a, process.execPath, ['-e', client], { timeoutMs: 600_000 });
    if (searched.code !== 0) throw new Error(`searches through the API on A: ${searched.stderr.slice(0, 1000)}`);
    const latencies = (JSON.parse(searched.stdout) as number[]).sort((x, y) => x - y);

    await sleep(1500); // the proxies write their counts every second
    const bytesBetweenHosts = countFiles.reduce((sum, file) => {
      const counts = JSON.parse(readFileSync(file, 'utf8')) as ProxyCounts;
      return sum + counts.in + counts.out;
    }, 0);
    const run: HostsRun = {
      delayMs,
      stagesS: { ingest, encode, index, mine },
      bytesBetweenHosts,
      objectStoreBytes: stored.bytes,
      search: { requests: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) },
    };
    return { run, passages: manifest.shards.reduce((sum, s) => sum + s.rows, 0) };
  } finally {
    await Promise.all(nats.map((n) => n.stop({ clean: true }).catch(() => undefined)));
    if (keep) process.stderr.write(`kept: ${set.hosts.map((h) => h.dir).join(' ')} (the hosts' folders go with the namespaces; copy them first)\n`);
    await set.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

const why = hostsUnavailable();
if (why) {
  process.stderr.write(`bench/hosts: ${why}\n`);
  process.exit(2);
}
const delays = (flag('delays') ?? '0,20').split(',').map(Number);
const queries = Number(flag('queries') ?? '200');
const runs: HostsRun[] = [];
let passages = 0;
for (const delayMs of delays) {
  process.stderr.write(`three hosts, ${delayMs} ms between them …\n`);
  const once = await runOnce(delayMs, queries, process.argv.includes('--keep'));
  runs.push(once.run);
  passages = once.passages;
  process.stderr.write(`${JSON.stringify(once.run)}\n`);
}
const report: HostsReport = {
  commit: execFileSync('git', ['describe', '--always', '--dirty'], { cwd: REPO, encoding: 'utf8' }).trim(),
  corpus: 'WordNet verbs and adverbs',
  passages,
  runs,
};
const markdown = renderHostsMarkdown(report);
process.stdout.write(`${markdown}\n`);
if (process.argv.includes('--write')) {
  mkdirSync(join(REPO, 'docs', 'hosts'), { recursive: true });
  writeFileSync(join(REPO, 'docs', 'hosts', 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
}
