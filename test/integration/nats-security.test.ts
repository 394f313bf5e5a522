import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nkeys, type NatsConnection } from 'nats';
import { connectNats, type ClientSecurity } from '../../messaging/index.js';
import { inboxPrefixOf, type NatsRole } from '../../access/index.js';
import { NAMES } from '../../jobs/index.js';
import { runSci } from '../support/cli.js';
import { NKEY_USER_SEED } from '../support/paths.js';

/*
 * The default local cluster (`sci cluster up`, no flags) as an outsider and
 * as each role meets it: TLS with the cluster's own CA, nkey users, and
 * per-role permissions enforced by nats-server itself.
 */

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

test(
  'sci cluster up: TLS and per-role nkeys by default; strangers are refused, a worker cannot submit jobs or serve search',
  { timeout: 180_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sci-test-'));
    const env = { SCI_CLUSTER__DIR: join(dir, 'cluster'), SCI_LOG__LEVEL: 'warn', SCI_STORAGE__ROOT: dir };
    const opened: NatsConnection[] = [];
    t.after(async () => {
      await Promise.all(opened.map((nc) => nc.close().catch(() => undefined)));
      await runSci(['cluster', 'down', '--clean'], { env });
      rmSync(dir, { recursive: true, force: true });
    });
    const up = await runSci(['cluster', 'up', '--workers', '1', '--json'], { env });
    assert.equal(up.code, 0, up.stderr);
    const record = JSON.parse(up.stdout) as { natsUrl: string; securityDir: string; natsStoreDir: string };
    assert.match(record.natsUrl, /^tls:\/\//);
    const security = record.securityDir;
    const ca = join(security, 'ca.pem');
    const seed = (role: NatsRole) => join(security, `${role}.nk`);
    const as = async (role: NatsRole): Promise<NatsConnection> => {
      const nc = await connectNats({
        servers: [record.natsUrl],
        name: `test-${role}`,
        timeoutMs: 5000,
        security: { nkeySeedFile: seed(role), tls: { caFile: ca }, inboxPrefix: inboxPrefixOf(role) },
      });
      opened.push(nc);
      return nc;
    };
    const refused = async (what: string, security: ClientSecurity, url = record.natsUrl) => {
      await assert.rejects(
        connectNats({ servers: [url], name: what, timeoutMs: 5000, security }).then((nc) => nc.close()),
        (err: Error & { retryable?: boolean }) => /refused the connection/.test(err.message) && err.retryable === false,
        `${what} must be refused`,
      );
    };

    // Secrets are private files; the server's config holds public keys only.
    for (const file of [seed('worker'), seed('admin'), join(security, 'ca-key.pem'), join(security, 'server-key.pem')])
      assert.equal(statSync(file).mode & 0o077, 0, `${file} is readable by others`);
    const serverConfig = readFileSync(join(record.natsStoreDir, 'sci-local.conf'), 'utf8');
    assert.doesNotMatch(serverConfig, NKEY_USER_SEED, 'no seed in the server config');
    assert.match(serverConfig, /tls \{/);

    // Outsiders.
    await refused('no credentials', { tls: { caFile: ca } });
    await refused('wrong user and password', { user: 'admin', password: 'guess-me-please', tls: { caFile: ca } });
    const stranger = join(dir, 'stranger.nk');
    (await import('node:fs')).writeFileSync(stranger, new TextDecoder().decode(nkeys.createUser().getSeed()), { mode: 0o600 });
    await refused('an nkey the cluster does not know', { nkeySeedFile: stranger, tls: { caFile: ca } });
    await refused('without the CA', { nkeySeedFile: seed('cli') });
    await refused('plain nats:// without TLS settings', { nkeySeedFile: seed('cli') }, record.natsUrl.replace('tls://', 'nats://'));

    // A worker's credentials: no job submission, no shard queue, no job records.
    const worker = await as('worker');
    await assert.rejects(
      worker.request(NAMES.submitSubject, encode({ kind: 'encode' }), { timeout: 3000 }),
      /Permissions Violation for Publish to "sci\.api\.jobs\.submit"/,
    );
    const fakeShard = worker.subscribe('sci.search.>', { queue: 'sci-shard' });
    await assert.rejects(
      (async () => {
        for await (const _ of fakeShard) break;
      })(),
      /Permissions Violation for Subscription to "sci\.search\.>" using queue "sci-shard"/,
    );
    await assert.rejects(worker.request(`$KV.${NAMES.jobsBucket}.forged`, encode({ state: 'done' }), { timeout: 3000 }), /Permissions Violation for Publish/);
    await assert.rejects(worker.request(`$JS.API.STREAM.DELETE.${NAMES.taskStream}`, new Uint8Array(), { timeout: 3000 }), /Permissions Violation for Publish/);

    // Only shard servers join the shard queue group (and only as a queue member); the CLI may submit.
    const shard = await as('shard-server');
    const member = shard.subscribe('sci.search.>', { queue: 'sci-shard' });
    const eavesdropper = shard.subscribe('sci.search.>');
    await assert.rejects(
      (async () => {
        for await (const _ of eavesdropper) break;
      })(),
      /Permissions Violation for Subscription to "sci\.search\.>"'$/,
    );
    await shard.flush();
    assert.equal(member.isClosed(), false, 'a shard server joins the queue group');
    const api = await as('api');
    await assert.rejects(api.request(NAMES.submitSubject, encode({ kind: 'encode' }), { timeout: 3000 }), /Permissions Violation/);
    const cli = await as('cli');
    const reply = (await cli.request(NAMES.submitSubject, encode({ kind: 'nonsense' }), { timeout: 5000 })).json<{ ok: boolean; error?: string }>();
    assert.equal(reply.ok, false, 'the coordinator answered the CLI (and refused the bad spec)');

    // The CLI's own commands connect as the cli role with the cluster's files, and see the coordinator.
    const status = await runSci(['cluster', 'status', '--json'], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { coordinator: { ok: boolean } }).coordinator.ok, true);
  },
);

test('sci config print masks secrets', async () => {
  const printed = await runSci(['config', 'print', '--json'], {
    env: {
      SCI_NATS__SERVERS: '["tls://nats:4222"]',
      SCI_NATS__USER: 'sci',
      SCI_NATS__PASSWORD: 'hunter2-very-secret',
      SCI_API__TOKEN: 'token-of-at-least-16-chars',
    },
  });
  assert.equal(printed.code, 0, printed.stderr);
  assert.doesNotMatch(printed.stdout, /hunter2|token-of-at-least/);
  const config = JSON.parse(printed.stdout) as { nats: { user: string; password: string }; api: { token: string } };
  assert.equal(config.nats.user, 'sci');
  assert.equal(config.nats.password, '********');
  assert.equal(config.api.token, '********');
});
