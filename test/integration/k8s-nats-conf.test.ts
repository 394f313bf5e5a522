import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { runSci } from '../support/cli.js';
import { byKindAndName, K8S_DIR, readManifests } from '../support/k8s.js';
import { freePort } from '../../messaging/index.js';
import { tempDir } from '../support/paths.js';
import { assertRouteRefused, REFUSED } from '../support/routes.js';

/*
 * The Kubernetes NATS config is checked by a real nats-server, not only by
 * reading it: the ConfigMap's nats.conf with the files `sci cluster secrets`
 * makes (auth.conf, routes.conf, the certificates), two nodes on loopback
 * whose routes are the ones routes.conf names. They join each other (route
 * TLS and the route password work as deployed), and a node started with
 * a wrong password in its routes.conf is refused.
 */

const configMap = () => byKindAndName(readManifests(join(K8S_DIR, 'base', 'nats.yaml')), 'ConfigMap', 'nats-config').data['nats.conf'] as string;

test(
  "the deployment's nats.conf with sci cluster secrets' files: routes join with the password and TLS, a wrong password is refused",
  { timeout: 120_000 },
  async (t) => {
    const dir = tempDir(t, 'sci-k8s-nats-');
    const ports = await Promise.all([0, 1, 2].map(async () => ({ client: await freePort(), route: await freePort() })));
    const routeOf = (i: number) => `127.0.0.1:${ports[i]!.route}`;
    const secrets = join(dir, 'auth');
    // One routes.conf names both nodes' routes (a node dialling itself drops that route); only the rogue's is rewritten below.
    const made = await runSci([
      'cluster',
      'secrets',
      '--out',
      secrets,
      '--host',
      '127.0.0.1',
      '--mount',
      secrets,
      '--route',
      routeOf(0),
      '--route',
      routeOf(1),
    ]);
    assert.equal(made.code, 0, made.stderr);
    const routesConf = readFileSync(join(secrets, 'routes.conf'), 'utf8');
    const node = async (i: number, routes: string) => {
      const folder = join(dir, `n${i}`);
      mkdirSync(join(folder, 'auth'), { recursive: true });
      for (const file of ['auth.conf', 'ca.pem', 'server-cert.pem', 'server-key.pem'])
        writeFileSync(join(folder, 'auth', file), readFileSync(join(secrets, file)));
      writeFileSync(join(folder, 'auth', 'routes.conf'), routes);
      // The pod's own values: its name, its store, loopback ports instead of 0.0.0.0.
      const conf = configMap()
        .replace('listen: 0.0.0.0:4222', `listen: 127.0.0.1:${ports[i]!.client}`)
        .replace('$POD_NAME', `nats-${i}`)
        .replace('/data/jetstream', join(folder, 'js'))
        .replace('listen: 0.0.0.0:6222', `listen: ${routeOf(i)}`);
      writeFileSync(join(folder, 'nats.conf'), conf);
      // nats-server as the pod runs it: its own config file, nothing of ours around it.
      const logFile = join(folder, 'nats.log');
      const child = spawn('nats-server', ['-c', join(folder, 'nats.conf'), '-l', logFile], { stdio: 'ignore' });
      t.after(() => {
        child.kill('SIGKILL');
      });
      const server = { name: `nats-${i}`, log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
      for (let waited = 0; !server.log().includes('Server is ready'); waited += 50) {
        if (child.exitCode !== null || waited > 10_000) assert.fail(`nats-${i} did not start from the deployment's config:\n${server.log().slice(-2000)}`);
        await sleep(50);
      }
      return server;
    };
    const n0 = await node(0, routesConf);
    const n1 = await node(1, routesConf);
    // Both sides dial, and one of the two routes is closed as a "Duplicate Route": one must stay.
    const liveRoutes = (log: string) => (log.match(/Route connection created/g)?.length ?? 0) - (log.match(/(Route|Router) connection closed/g)?.length ?? 0);
    for (let waited = 0; liveRoutes(n0.log()) < 1; waited += 100) {
      if (waited > 10_000) assert.fail(`the two nodes did not join:\n${n0.log().slice(-2000)}`);
      await sleep(100);
    }
    assert.doesNotMatch(n0.log() + n1.log(), /Authorization Violation|TLS route handshake error/);
    const rogue = await node(2, routesConf.replace(/password: "[^"]+"/, 'password: "guessed-guessed"').replace(/route:[0-9a-f]+@/g, 'route:guessed-guessed@'));
    await sleep(3000);
    t.diagnostic(await assertRouteRefused(rogue, [n0, n1], REFUSED.password));
  },
);
