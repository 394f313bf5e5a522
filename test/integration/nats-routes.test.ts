import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { clusterServerSecurity, NATS_ROLES } from '../../access/index.js';
import { connectNats, createSecurityBundle, freePort, NatsServerProcess, retrying, startNatsCluster, type ServerSecurity } from '../../messaging/index.js';
import { tempDir } from '../support/paths.js';
import { assertRouteRefused, REFUSED } from '../support/routes.js';

/*
 * Cluster routes are a way around every per-role permission: a server that
 * joins as a route sees every message. So routes need the route password and
 * mutual TLS under the cluster's own CA. A 3-node cluster with both forms;
 * then a server with the right certificate and a guessed password, and one
 * with the password and a certificate from another CA, try to join: neither
 * is admitted, and the cluster's routes stay among its own three.
 */

test('routes need the password and a certificate from the cluster CA: rogue servers cannot join', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t, 'sci-routes-');
  const bundle = createSecurityBundle(join(dir, 'security'), { hosts: ['127.0.0.1', 'localhost'], users: NATS_ROLES });
  const security = clusterServerSecurity(bundle);
  assert.ok(security.routes && security.routes.password.length >= 32, 'the bundle makes a route password');
  const nodes = await startNatsCluster(3, join(dir, 'nats'), security);
  t.after(() => Promise.all(nodes.map((n) => n.stop({ clean: true }))));
  const config = readFileSync(join(dir, 'nats', 'n0', 'n0.conf'), 'utf8');
  assert.match(config, /verify: true/);
  assert.match(config, /authorization \{ user: "route", password: /);

  // A bundle made before routes used mutual TLS holds a server-only certificate: it is remade (same CA).
  const upgraded = createSecurityBundle(join(dir, 'old-bundle'), { hosts: ['127.0.0.1'], users: ['admin'] });
  writeFileSync(join(dir, 'old-bundle', 'old.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: join(dir, 'old-bundle'), stdio: 'ignore' });
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', upgraded.keyFile, '-out', 'old.csr', '-subj', '/CN=old']);
  openssl([
    'x509',
    '-req',
    '-in',
    'old.csr',
    '-CA',
    upgraded.caFile,
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    upgraded.certFile,
    '-days',
    '5',
    '-extfile',
    'old.ext',
  ]);
  const eku = () => execFileSync('openssl', ['x509', '-in', upgraded.certFile, '-noout', '-ext', 'extendedKeyUsage']).toString();
  assert.doesNotMatch(eku(), /Client Authentication/);
  createSecurityBundle(join(dir, 'old-bundle'), { hosts: ['127.0.0.1'], users: ['admin'] });
  assert.match(eku(), /TLS Web Server Authentication, TLS Web Client Authentication/);

  // The cluster works: a replicated stream is created and answers (needs all three routes up).
  const nc = await connectNats({
    servers: nodes.map((n) => n.url),
    name: 'routes-test',
    security: { nkeySeedFile: bundle.seedFiles.admin!, tls: { caFile: bundle.caFile } },
  });
  t.after(() => nc.close());
  // A new JetStream cluster answers once it has elected its meta leader.
  const jsm = await retrying('the JetStream API', () => nc.jetstreamManager(), { timeoutMs: 60_000 });
  await retrying('a replicated stream', () => jsm.streams.add({ name: 'ROUTES_CHECK', subjects: ['routes.check'], num_replicas: 3 }), { timeoutMs: 60_000 });

  const target = readFileSync(join(dir, 'nats', 'n0', 'n0.conf'), 'utf8').match(/listen: "127\.0\.0\.1:(\d+)"\n {2}routes/)?.[1];
  assert.ok(target, 'the route port of n0');
  const rogueCa = createSecurityBundle(join(dir, 'rogue'), { hosts: ['127.0.0.1'], users: ['admin'] });
  const rogue = async (name: string, rogueSecurity: ServerSecurity) => {
    const server = await NatsServerProcess.start({
      name,
      storeDir: join(dir, name),
      cluster: { name: 'sci', port: await freePort(), routes: [`127.0.0.1:${target}`] },
      security: rogueSecurity,
    });
    t.after(() => server.stop({ clean: true }));
    return server;
  };
  const guessed = await rogue('rogue-password', { ...security, routes: { user: 'route', password: 'guessed-guessed-guessed' } });
  const foreign = await rogue('rogue-ca', { ...security, tls: { certFile: rogueCa.certFile, keyFile: rogueCa.keyFile, caFile: rogueCa.caFile } });
  // The rogues retry their route every second: a few rounds of refusals, none admitted.
  await sleep(4000);
  t.diagnostic(await assertRouteRefused(guessed, nodes, REFUSED.password));
  t.diagnostic(await assertRouteRefused(foreign, nodes, REFUSED.certificate));
  // The cluster's own routes are untouched: each node still has its two peers.
  const info = await jsm.streams.info('ROUTES_CHECK');
  assert.equal(info.cluster?.replicas?.length, 2);
  assert.ok(info.cluster!.replicas!.every((r) => r.current && !r.offline));
});
