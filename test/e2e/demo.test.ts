import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readManifest } from '../../shards/index.js';
import { REPO_ROOT, tempDir } from '../support/paths.js';

test('the demo script runs the existing stages on WordNet and verifies them', (t) => {
  const out = join(tempDir(t), 'demo');
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'demo.sh')], { cwd: REPO_ROOT, env: { ...process.env, SCI_DEMO_OUT: out }, encoding: 'utf8', timeout: 300_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /passages\s+in 117,791 = written 117,791 \+ rejected 0/);
  assert.match(result.stdout, /ok: 4 shards, 117791 rows/);
  const { manifest } = readManifest(join(out, 'shards'));
  assert.equal(manifest.shards.length, 4);
});
