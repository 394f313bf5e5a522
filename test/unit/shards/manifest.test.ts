import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BeirIngester, readManifest, runIngest, ShardFormatError, shardOfRow, verifyShardSet } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { TEST_INGEST } from '../../support/shards.js';

async function shardSet(dir: string): Promise<string> {
  const input = join(dir, 'in');
  mkdirSync(input);
  writeFileSync(join(input, 'corpus.jsonl'), Array.from({ length: 7 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: `t${i}` })).join('\n'));
  const out = join(dir, 'out');
  await runIngest({ ingester: new BeirIngester(input), format: 'beir', input, outDir: out, layout: { rowsPerShard: 3 }, ...TEST_INGEST });
  return out;
}

test('a tampered shard fails verification naming the shard', async (t) => {
  const out = await shardSet(tempDir(t));
  await verifyShardSet(out);
  appendFileSync(join(out, 'passages-00001.arrow'), 'x');
  await assert.rejects(verifyShardSet(out), (err: unknown) => err instanceof ShardFormatError && /shard 1 checksum mismatch/.test(err.message));
});

test('a manifest whose counts do not add up is refused', async (t) => {
  const out = await shardSet(tempDir(t));
  const path = join(out, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8'));
  manifest.rowsRejected = 1;
  writeFileSync(path, JSON.stringify(manifest));
  assert.throws(
    () => readManifest(out),
    (err: unknown) => err instanceof ShardFormatError && err.field === 'rowsIn',
  );
  manifest.rowsRejected = 0;
  manifest.shards[1].firstRowId = 4;
  writeFileSync(path, JSON.stringify(manifest));
  assert.throws(
    () => readManifest(out),
    (err: unknown) => err instanceof ShardFormatError && err.field === 'shards.1.firstRowId',
  );
  manifest.shards[1].firstRowId = 3;
  manifest.surprise = true;
  writeFileSync(path, JSON.stringify(manifest));
  assert.throws(
    () => readManifest(out),
    (err: unknown) => err instanceof ShardFormatError && /invalid manifest/.test(err.message),
  );
});

test('shardOfRow finds the shard of a global row id', async (t) => {
  const out = await shardSet(tempDir(t));
  const { manifest } = readManifest(out);
  assert.deepEqual(
    [0, 2, 3, 5, 6].map((r) => shardOfRow(manifest, r)?.id),
    [0, 0, 1, 1, 2],
  );
  assert.equal(shardOfRow(manifest, 7), null);
});
