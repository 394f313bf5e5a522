import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRelativeName, commitFile, FsStorage } from '../../../storage/index.js';
import { tempDir } from '../../support/paths.js';

test('every key resolves inside the root: no .., absolute only inside, no symlink out', async (t) => {
  const root = tempDir(t);
  const outside = mkdtempSync(join(tmpdir(), 'sci-out-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  const storage = new FsStorage(root);
  await storage.writeText('a/b.txt', 'x');
  assert.equal(await storage.readText(join(root, 'a/b.txt')), 'x', 'an absolute key inside the root is the same key');
  for (const key of ['../x', 'a/../../x', 'a/..', `${root}/../x`]) await assert.rejects(storage.readText(key), /'\.\.' segment/, key);
  await assert.rejects(storage.writeText('/etc/x', 'y'), /outside the storage root/);
  await assert.rejects(storage.writeText(join(outside, 'x'), 'y'), /outside the storage root/);
  symlinkSync(outside, join(root, 'escape'));
  await assert.rejects(storage.writeText('escape/x', 'y'), /through a symlink/);
  await assert.rejects(storage.publish(join(root, 'a/b.txt'), 'escape/y'), /through a symlink/);
  assert.equal(existsSync(join(outside, 'x')) || existsSync(join(outside, 'y')), false);
  assert.throws(() => checkRelativeName('/etc/passwd'), /must be relative/);
  assert.throws(() => checkRelativeName('x/../../y'), /'\.\.'/);
  assert.equal(checkRelativeName('shard-00001/flat.faiss'), 'shard-00001/flat.faiss');
});

test('work folders are on the storage filesystem; commitFile moves a file across filesystems', async (t) => {
  const root = tempDir(t);
  const storage = new FsStorage(root);
  const work = await storage.workDir('out');
  assert.equal(statSync(work).dev, statSync(root).dev);
  assert.ok(work.startsWith(root));
  const other = '/dev/shm';
  if (!existsSync(other) || statSync(other).dev === statSync(root).dev) return t.skip('no second filesystem at /dev/shm');
  const src = mkdtempSync(join(other, 'sci-commit-'));
  t.after(() => rmSync(src, { recursive: true, force: true }));
  writeFileSync(join(src, 'f'), 'payload');
  mkdirSync(join(root, 'dst'));
  await commitFile(join(src, 'f'), join(root, 'dst', 'f'));
  assert.equal(readFileSync(join(root, 'dst', 'f'), 'utf8'), 'payload');
  assert.equal(existsSync(join(src, 'f')), false, 'the source is removed after the copy committed');
  const published = await storage.publish(join(root, 'dst', 'f'), 'set/f');
  assert.equal(published.bytes, 7);
});

test('list shows the files under a prefix (not writes in progress, not links); remove takes one file and the folders it empties', async (t) => {
  const root = tempDir(t);
  const storage = new FsStorage(root);
  await storage.writeText('sets/a/manifest.json', '{}');
  await storage.writeText('sets/a/shards/passages-00000.arrow', 'xx');
  await storage.writeText('sets/ab/manifest.json', '{}');
  writeFileSync(join(root, 'sets/a/passages-00001.arrow.tmp-12-0123456789ab'), 'half');
  mkdirSync(join(root, 'sets/a/.work-12-x'));
  writeFileSync(join(root, 'sets/a/.work-12-x/out.arrow'), 'half');
  symlinkSync('/etc', join(root, 'sets/a/outside'));
  const listed = await storage.list('sets/a');
  assert.deepEqual(
    listed.map((f) => [f.key, f.bytes]),
    [
      ['sets/a/manifest.json', 2],
      ['sets/a/shards/passages-00000.arrow', 2],
    ],
  );
  assert.deepEqual(
    (await storage.list('')).map((f) => f.key),
    ['sets/a/manifest.json', 'sets/a/shards/passages-00000.arrow', 'sets/ab/manifest.json'],
  );
  assert.deepEqual(
    (await storage.list('sets/a/manifest.json')).map((f) => f.key),
    ['sets/a/manifest.json'],
  );
  assert.deepEqual(await storage.list('sets/none'), []);
  await assert.rejects(storage.remove('sets/a'), /is a folder/);
  assert.equal(await storage.remove('sets/a/shards/passages-00000.arrow'), true);
  assert.equal(existsSync(join(root, 'sets/a/shards')), false, 'the emptied folder went with it');
  assert.ok(existsSync(join(root, 'sets/a')));
  assert.equal(await storage.remove('sets/a/shards/passages-00000.arrow'), false);
  await assert.rejects(storage.list('../x'), /outside the storage root|\.\./);
});
