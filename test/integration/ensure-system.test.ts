import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, tempDir } from '../support/paths.js';

/*
 * scripts/ensure-system.sh (the first step of `make test` and `make demo`) refuses a
 * nats-server the product does not support, naming its version; the one it installs passes.
 */
function ensureSystemWith(t: { after: (fn: () => void) => void }, versionLine: string | null) {
  const bin = tempDir(t);
  if (versionLine !== null) {
    writeFileSync(join(bin, 'nats-server'), `#!/bin/sh\necho "${versionLine}"\n`);
    chmodSync(join(bin, 'nats-server'), 0o755);
  }
  return spawnSync('bash', [join(REPO_ROOT, 'scripts/ensure-system.sh')], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
}

test('ensure-system accepts the installed nats-server', (t) => {
  const run = ensureSystemWith(t, null);
  assert.equal(run.status, 0, run.stderr);
});

test('ensure-system refuses a nats-server older than 2.9 or of another major, naming the version', (t) => {
  const refused: Array<[string, string]> = [
    ['nats-server: v2.8.4', '2.8.4'],
    ['nats-server: v3.0.1', '3.0.1'],
  ];
  for (const [line, version] of refused) {
    const run = ensureSystemWith(t, line);
    assert.equal(run.status, 1, `${line}: ${run.stderr}`);
    assert.match(run.stderr, new RegExp(`nats-server ${version.replace(/\./g, '\\.')} .* is not supported`));
  }
  const accepted = ensureSystemWith(t, 'nats-server: v2.10.22');
  assert.equal(accepted.status, 0, accepted.stderr);
});
