import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isTempName, tempPathFor } from '../../../common/index.js';
import { findLeftovers, removeLeftovers } from '../../../storage/index.js';
import { tempDir } from '../../support/paths.js';

test('temp names are unique per write and recognisable', () => {
  const a = tempPathFor('/x/manifest.json');
  const b = tempPathFor('/x/manifest.json');
  assert.notEqual(a, b);
  assert.ok(isTempName(a) && isTempName(tempPathFor('/x/dir', 'old')) && isTempName('shard.arrow.tmp-123'));
  assert.ok(!isTempName('manifest.json') && !isTempName('notes.tmp-file'));
});

test('sweep: old temp files and work folders go, young ones and everything else stay; symlinks are not followed', (t) => {
  const root = tempDir(t);
  const outside = tempDir(t);
  const old = (Date.now() - 48 * 3600_000) / 1000;
  mkdirSync(join(root, 'set', '.work-12-abc', 'deep'), { recursive: true });
  writeFileSync(join(root, 'set', '.work-12-abc', 'deep', 'part.arrow'), Buffer.alloc(1000));
  writeFileSync(join(root, 'set', `manifest.json`), '{}');
  const staleTemp = tempPathFor(join(root, 'set', 'passages-00000.arrow'));
  writeFileSync(staleTemp, Buffer.alloc(500));
  const youngTemp = tempPathFor(join(root, 'set', 'passages-00001.arrow'));
  writeFileSync(youngTemp, Buffer.alloc(10));
  for (const path of [join(root, 'set', '.work-12-abc'), staleTemp]) utimesSync(path, old, old);
  writeFileSync(join(outside, 'x.tmp-1'), 'not ours to reach');
  utimesSync(join(outside, 'x.tmp-1'), old, old);
  symlinkSync(outside, join(root, 'link'));

  const found = findLeftovers(root, { olderThanMs: 24 * 3600_000 });
  assert.deepEqual(found.map((l) => [l.path, l.kind]).sort(), [
    [join(root, 'set', '.work-12-abc'), 'work folder'],
    [staleTemp, 'temp file'],
  ]);
  assert.equal(removeLeftovers(found), 1500);
  assert.equal(existsSync(staleTemp), false);
  assert.equal(existsSync(join(root, 'set', '.work-12-abc')), false);
  assert.ok(existsSync(youngTemp) && existsSync(join(root, 'set', 'manifest.json')) && existsSync(join(outside, 'x.tmp-1')));
});
