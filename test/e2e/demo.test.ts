import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../../shards/index.js';
import { REPO_ROOT, tempDir } from '../support/paths.js';

test('make demo: local cluster, WordNet ingested, encoded and indexed with every type, summary printed', { timeout: 600_000 }, (t) => {
  const out = join(tempDir(t), 'demo');
  const result = spawnSync('bash', [join(REPO_ROOT, 'scripts', 'demo.sh')], { cwd: REPO_ROOT, env: { ...process.env, SCI_DEMO_OUT: out }, encoding: 'utf8', timeout: 590_000 });
  assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /cluster up: NATS nats:\/\/127\.0\.0\.1:\d+/);
  assert.match(result.stdout, /passages\s+in 117,791 = written 117,791 \+ rejected 0/);
  assert.match(result.stdout, /ok: 4 shards, 117791 rows/);
  assert.match(result.stdout, /job-\S+: done → \S+embeddings\/manifest\.json/);
  assert.match(result.stdout, /4 shards, 117791 passages/);
  for (const index of ['flat', 'ivf', 'ivfpq', 'hnsw', 'pq', 'lsh', 'bm25']) assert.match(result.stdout, new RegExp(`^${index}\\s+\\d`, 'm'));
  const { manifest } = readManifest(join(out, 'passages'));
  assert.equal(manifest.shards.length, 4);
  assert.equal(existsSync(join(out, 'cluster', 'cluster.json')), false, 'the demo stops its cluster');
});
