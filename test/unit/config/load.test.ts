import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applySetAssignments, ConfigError, loadConfig, overrideValue, setPath } from '../../../config/index.js';
import { GridConfigSchema } from '../../../experiment/index.js';
import { tempDir } from '../../support/paths.js';

test('defaults resolve without a file', () => {
  const config = loadConfig();
  assert.equal(config.ingest.rowsPerShard, 100_000);
  assert.equal(config.workers.pool.threads, 1);
  assert.equal(config.log.level, 'info');
});

test('YAML file, then environment, then overrides', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'ingest:\n  rowsPerShard: 10\n  batchRows: 7\nlog:\n  level: debug\n');
  const config = loadConfig({
    file,
    env: { SCI_INGEST__ROWS_PER_SHARD: '20', SCI_WORKERS__POOL__THREADS: '3', HOME: '/x' },
    overrides: { 'log.level': 'warn' },
  });
  assert.equal(config.ingest.rowsPerShard, 20);
  assert.equal(config.ingest.batchRows, 7);
  assert.equal(config.workers.pool.threads, 3);
  assert.equal(config.log.level, 'warn');
});

test('errors name the dotted path of every problem', () => {
  assert.throws(
    () => loadConfig({ env: { SCI_WORKERS__POOL__THREADS: '-2', SCI_INGEST__BATCH_ROWS: 'many' } }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.ok(err.problems.includes('workers.pool.threads: expected a positive integer'), err.message);
      assert.ok(err.problems.includes('ingest.batchRows: expected a positive integer'), err.message);
      return true;
    },
  );
});

test('unknown keys are rejected with their path', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'ingest:\n  rowsPerShrd: 10\nextra: 1\n');
  assert.throws(
    () => loadConfig({ file }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual([...err.problems].sort(), ['extra: unknown key', 'ingest.rowsPerShrd: unknown key']);
      assert.equal(err.file, file);
      return true;
    },
  );
});

test('cross-field rule: train + dev fractions must leave a test split', () => {
  assert.throws(
    () => loadConfig({ overrides: { 'wordnet.trainFraction': 0.9, 'wordnet.devFraction': 0.2 } }),
    /wordnet\.devFraction: trainFraction \+ devFraction must be below 1/,
  );
});

test('unreadable and non-YAML files are config errors naming the file', (t) => {
  const dir = tempDir(t);
  assert.throws(
    () => loadConfig({ file: join(dir, 'missing.yaml') }),
    (err: unknown) => err instanceof ConfigError && /cannot read the config file/.test(err.message),
  );
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'ingest: [1, 2\n');
  assert.throws(
    () => loadConfig({ file: bad }),
    (err: unknown) => err instanceof ConfigError && /not valid YAML/.test(err.message) && err.file === bad,
  );
});

test('only SCI_SECTION__KEY variables are config; a mistyped section is an error', () => {
  assert.equal(loadConfig({ env: { SCI_CONFIG: 'x.yaml', SCI_DEMO_OUT: '/tmp/x' } }).ingest.rowsPerShard, 100_000);
  assert.throws(() => loadConfig({ env: { SCI_INGST__ROWS_PER_SHARD: '5' } }), /ingst: unknown key/);
});

test('the query API: auth is required to bind anything but loopback', () => {
  assert.equal(loadConfig({}).api.token, null);
  assert.throws(
    () => loadConfig({ overrides: { 'api.host': '0.0.0.0' } }),
    (err: unknown) => err instanceof ConfigError && /api\.token: binding a non-loopback address needs api\.token/.test(err.message),
  );
  assert.equal(loadConfig({ overrides: { 'api.host': '0.0.0.0', 'api.token': 'x'.repeat(24) } }).api.host, '0.0.0.0');
  assert.throws(() => loadConfig({ overrides: { 'api.token': 'short' } }), /at least 16 characters/);
});

test('NATS credentials: one way at a time, user with password, cert with key', () => {
  assert.throws(
    () => loadConfig({ env: { SCI_NATS__USER: 'a', SCI_NATS__PASSWORD: 'b', SCI_NATS__NKEY_SEED_FILE: '/s.nk' } }),
    /nats\.user: give only one of user, nkeySeedFile, credsFile/,
  );
  assert.throws(() => loadConfig({ env: { SCI_NATS__USER: 'a' } }), /nats\.password: user and password go together/);
  assert.throws(() => loadConfig({ env: { SCI_NATS__TLS__CERT_FILE: '/c.pem' } }), /nats\.tls\.keyFile: tls\.certFile and tls\.keyFile go together/);
  const config = loadConfig({ env: { SCI_NATS__NKEY_SEED_FILE: '/s.nk', SCI_NATS__TLS__CA_FILE: '/ca.pem' } });
  assert.equal(config.nats.nkeySeedFile, '/s.nk');
  assert.equal(config.nats.tls.caFile, '/ca.pem');
  assert.equal(config.cluster.secure, true, 'the local cluster is secure by default');
});

test('a config path into a prototype is refused, not followed (an experiment axis key, an override)', () => {
  const target: Record<string, unknown> = {};
  for (const path of [
    ['__proto__', 'polluted'],
    ['a', 'constructor', 'prototype', 'x'],
  ])
    assert.throws(
      () => setPath(target, path, true),
      (err: Error) => err instanceof ConfigError && /is not a config key/.test(err.message),
    );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.throws(() => loadConfig({ env: {}, overrides: { '__proto__.polluted': true } }), ConfigError);
  assert.equal(GridConfigSchema.shape.axes.safeParse([{ name: 'w', key: '__proto__.x', values: [1] }]).success, false);
});

test('one override syntax: SCI_* variables and --set assignments read the same values the same way', () => {
  const values = ['5', '0.25', 'true', 'null', '[1, 2]', '{a: 1}', 'plain text', '"quoted"', ''];
  for (const value of values) {
    const viaSet: Record<string, unknown> = {};
    applySetAssignments(viaSet, [`search.x=${value}`]);
    assert.deepEqual(viaSet, { search: { x: overrideValue(value) } }, value);
  }
  assert.deepEqual(overrideValue('5'), 5);
  assert.deepEqual(overrideValue('[1, 2]'), [1, 2]);
  assert.equal(overrideValue('plain text'), 'plain text');
  // The same value through both doors gives the same config.
  const fromEnv = loadConfig({ env: { SCI_INGEST__ROWS_PER_SHARD: '1234' } });
  const raw: Record<string, unknown> = {};
  applySetAssignments(raw, ['ingest.rowsPerShard=1234']);
  assert.equal(
    fromEnv.ingest.rowsPerShard,
    loadConfig({ overrides: { 'ingest.rowsPerShard': (raw.ingest as { rowsPerShard: unknown }).rowsPerShard } }).ingest.rowsPerShard,
  );
  assert.throws(
    () => applySetAssignments({}, ['no-equals']),
    (err: unknown) => err instanceof ConfigError && /--set expects path=value/.test(err.message),
  );
});
