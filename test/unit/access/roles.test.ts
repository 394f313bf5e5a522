import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canPublish, instanceInboxPrefix, NATS_ROLES, rolePermissions, inboxPrefixOf, subjectMatches } from '../../../access/index.js';
import { NAMES } from '../../../jobs/index.js';
import { renderServerSecurity } from '../../../messaging/index.js';

/*
 * The permission table read as nats-server reads it: a subject is allowed when
 * an allow pattern matches it (`*` one token, `>` the rest). The live checks
 * against nats-server are in test/integration/nats-security.test.ts.
 */

const canSubscribe = (role: (typeof NATS_ROLES)[number], subject: string, queue?: string) =>
  (rolePermissions(role).subscribe.allow ?? []).some((entry) => {
    const [pattern, group] = entry.split(' ');
    return subjectMatches(pattern!, subject) && (group === undefined || group === queue);
  });

test('only the CLI and the pipeline driver (and admin) submit jobs; only the coordinator answers them', () => {
  assert.deepEqual(
    NATS_ROLES.filter((r) => canPublish(r, NAMES.submitSubject)),
    ['admin', 'cli', 'pipeline'],
  );
  assert.deepEqual(
    NATS_ROLES.filter((r) => canSubscribe(r, NAMES.submitSubject)),
    ['admin', 'coordinator'],
  );
});

test('only shard servers (and the pipeline driver, which serves what it evaluates) join the shard queue group, only as queue members', () => {
  const subject = 'sci.search.abc.3';
  assert.deepEqual(
    NATS_ROLES.filter((r) => canSubscribe(r, subject, 'sci-shard')),
    ['admin', 'shard-server', 'pipeline'],
  );
  for (const role of ['shard-server', 'pipeline'] as const)
    assert.equal(canSubscribe(role, subject), false, `${role}: a plain subscription would see every query`);
  // Hedged requests go to every replica: a plain subscription, to the hedge subject only, for the same roles.
  assert.deepEqual(
    NATS_ROLES.filter((r) => canSubscribe(r, `${subject}.hedge`)),
    ['admin', 'shard-server', 'pipeline'],
  );
  assert.deepEqual(
    NATS_ROLES.filter((r) => canPublish(r, subject)),
    ['admin', 'api', 'cli', 'pipeline'],
  );
});

test('a worker writes task and worker records, never job records, and cannot change streams', () => {
  assert.equal(canPublish('worker', `$KV.${NAMES.tasksBucket}.job-1.0.encode`), true);
  assert.equal(canPublish('worker', `$KV.${NAMES.workersBucket}.w1`), true);
  assert.equal(canPublish('worker', `$KV.${NAMES.jobsBucket}.job-1`), false);
  assert.equal(canPublish('worker', `$JS.API.STREAM.DELETE.${NAMES.taskStream}`), false);
  assert.equal(canPublish('worker', `$JS.API.CONSUMER.MSG.NEXT.${NAMES.taskStream}.${NAMES.workerConsumer}`), true);
  assert.equal(canPublish('worker', NAMES.taskSubject('encode')), false, 'a worker cannot forge tasks');
  assert.equal(canPublish('coordinator', NAMES.taskSubject('encode')), true);
  for (const role of NATS_ROLES.filter((r) => r !== 'admin' && r !== 'coordinator'))
    assert.equal(canPublish(role, `$JS.API.STREAM.CREATE.${NAMES.taskStream}`), false, role);
});

test('each role reads replies on its own inbox prefix only', () => {
  const prefixes = NATS_ROLES.map(inboxPrefixOf);
  assert.equal(new Set(prefixes).size, NATS_ROLES.length);
  for (const role of NATS_ROLES.filter((r) => r !== 'admin')) {
    assert.equal(canSubscribe(role, `${inboxPrefixOf(role)}.abc`), true, role);
    const other = NATS_ROLES.find((r) => r !== role && r !== 'admin')!;
    assert.equal(canSubscribe(role, `${inboxPrefixOf(other)}.abc`), false, `${role} reads ${other}'s replies`);
  }
});

test('the server config lists public keys with permissions and requires TLS', () => {
  const text = renderServerSecurity({
    tls: { certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem' },
    users: [{ nkey: 'UABC', permissions: rolePermissions('shard-server') }],
  });
  assert.match(text, /^tls \{ cert_file: "\/c\.pem", key_file: "\/k\.pem", ca_file: "\/ca\.pem"/);
  assert.match(
    text,
    /\{ nkey: "UABC", permissions: \{ publish: \{ allow: \[.*\] \}, subscribe: \{ allow: \["sci\.search\.> sci-shard",.*allow_responses: true \} \}/,
  );
});

test('only roles that write sets may write or purge the object store; the API and shard servers only read it', () => {
  const bucket = NAMES.objectBucket;
  const put = `$O.${bucket}.C.abc123`;
  const purge = `$JS.API.STREAM.PURGE.OBJ_${bucket}`;
  const read = `$JS.API.DIRECT.GET.OBJ_${bucket}.$O.${bucket}.M.a2V5`;
  assert.deepEqual(
    NATS_ROLES.filter((r) => canPublish(r, put)),
    ['admin', 'coordinator', 'worker', 'cli', 'pipeline'],
  );
  assert.deepEqual(
    NATS_ROLES.filter((r) => canPublish(r, purge)),
    ['admin', 'coordinator', 'worker', 'cli', 'pipeline'],
  );
  assert.deepEqual(
    NATS_ROLES.filter((r) => canPublish(r, read)),
    [...NATS_ROLES],
  );
  for (const role of NATS_ROLES) assert.equal(canPublish(role, '$JS.API.STREAM.NAMES'), role === 'admin' || role === 'coordinator', role);
});

test('each process replies on an inbox of its own, inside its role’s prefix', () => {
  for (const role of NATS_ROLES.filter((r) => r !== 'admin')) {
    const [a, b] = [instanceInboxPrefix(role), instanceInboxPrefix(role)];
    assert.notEqual(a, b);
    assert.ok(
      (rolePermissions(role).subscribe.allow ?? []).some((p) => subjectMatches(p, `${a}.NUID123`)),
      role,
    );
    for (const other of NATS_ROLES.filter((r) => r !== role && r !== 'admin'))
      assert.equal(
        (rolePermissions(other).subscribe.allow ?? []).some((p) => subjectMatches(p.split(' ')[0]!, `${a}.NUID123`)),
        false,
        `${other} reads ${role}'s replies`,
      );
  }
});
