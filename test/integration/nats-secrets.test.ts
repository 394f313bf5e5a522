import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NatsServerProcess, connectNats } from '../../messaging/index.js';
import { inboxPrefixOf } from '../../access/index.js';
import { NAMES } from '../../jobs/index.js';
import { runSci } from '../support/cli.js';
import { NKEY_USER_SEED, tempDir } from '../support/paths.js';

/*
 * `sci cluster secrets` output run for real: a nats-server whose config
 * includes the generated auth.conf (as the Kubernetes StatefulSet does)
 * lets role seeds in over TLS with their permissions and nobody else.
 */

test('sci cluster secrets: a nats-server including its auth.conf admits each role over TLS with its permissions', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'secrets');
  const made = await runSci(['cluster', 'secrets', '--out', out, '--host', '127.0.0.1', '--host', 'localhost', '--mount', out]);
  assert.equal(made.code, 0, made.stderr);
  const auth = readFileSync(join(out, 'auth.conf'), 'utf8');
  assert.match(auth, /tls \{ cert_file: /);
  assert.doesNotMatch(auth, NKEY_USER_SEED, 'only public keys in the server config');
  // The StatefulSet's layout: nats.conf includes auth/auth.conf.
  const conf = join(dir, 'conf');
  mkdirSync(join(conf, 'auth'), { recursive: true });
  writeFileSync(join(conf, 'auth', 'auth.conf'), auth);
  const nats = await NatsServerProcess.start({ storeDir: join(dir, 'nats'), include: join(conf, 'auth', 'auth.conf') });
  t.after(() => nats.stop());
  const url = nats.url.replace('nats://', 'tls://');
  const worker = await connectNats({
    servers: [url],
    name: 'k8s-worker',
    timeoutMs: 5000,
    security: { nkeySeedFile: join(out, 'worker.nk'), tls: { caFile: join(out, 'ca.pem') }, inboxPrefix: inboxPrefixOf('worker') },
  });
  t.after(() => worker.close());
  await assert.rejects(worker.request(NAMES.submitSubject, new Uint8Array(), { timeout: 3000 }), /Permissions Violation for Publish/);
  await assert.rejects(
    connectNats({ servers: [url], name: 'anonymous', timeoutMs: 5000, security: { tls: { caFile: join(out, 'ca.pem') } } }),
    /refused the connection/,
  );
  const again = await runSci(['cluster', 'secrets', '--out', out, '--host', '127.0.0.1', '--host', 'localhost', '--mount', out]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(out, 'auth.conf'), 'utf8'), auth, 'a second run keeps the identities');
  // Another host: the server certificate is remade under the same CA, the nkeys stay.
  const ca = readFileSync(join(out, 'ca.pem'), 'utf8');
  const cert = readFileSync(join(out, 'server-cert.pem'), 'utf8');
  const more = await runSci(['cluster', 'secrets', '--out', out, '--host', '127.0.0.1', '--host', 'localhost', '--host', 'nats.example', '--mount', out]);
  assert.equal(more.code, 0, more.stderr);
  assert.equal(readFileSync(join(out, 'ca.pem'), 'utf8'), ca);
  assert.notEqual(readFileSync(join(out, 'server-cert.pem'), 'utf8'), cert);
  assert.equal(readFileSync(join(out, 'auth.conf'), 'utf8'), auth, 'same users and keys');
});
