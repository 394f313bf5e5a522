import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { join } from 'node:path';
import { isTempName, processAlive, processTempDir, processTempOwner, tempPathFor } from '../../../common/index.js';
import { findDeadProcessFolders, findLeftovers, removeLeftovers } from '../../../storage/index.js';
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

test("sweep: a finished job's intermediate folders go (mine candidates, stats, queries; quantizer samples); an unfinished job's, and any folder its manifest names, stay", (t) => {
  const root = tempDir(t);
  const kinds = [
    { format: 'sci-cluster/negatives-set@1', folders: ['candidates', 'stats', 'queries', 'merged'] },
    { format: 'sci-cluster/indexes@1', folders: ['sample'] },
  ];
  const file = (path: string, bytes: number) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, Buffer.alloc(bytes));
  };
  // A finished mine job: its manifest names negatives.arrow only.
  file(join(root, 'mined', 'candidates', 'shard-00000.arrow'), 300);
  file(join(root, 'mined', 'stats', 'shard-00000.json'), 20);
  file(join(root, 'mined', 'negatives.arrow'), 100);
  writeFileSync(join(root, 'mined', 'manifest.json'), JSON.stringify({ format: 'sci-cluster/negatives-set@1', file: { path: 'negatives.arrow' } }));
  // A mine job still running: no manifest yet.
  file(join(root, 'running', 'candidates', 'shard-00000.arrow'), 300);
  // A finished index job with a shared quantizer: samples go, the trained quantizer it serves from stays.
  file(join(root, 'indexes', 'sample', 'item.npy'), 50);
  file(join(root, 'indexes', 'trained', 'ivf.faiss'), 70);
  writeFileSync(join(root, 'indexes', 'manifest.json'), JSON.stringify({ format: 'sci-cluster/indexes@1', trained: [{ path: 'trained/ivf.faiss' }] }));
  // A set whose manifest names a file inside a folder of that name: kept.
  file(join(root, 'odd', 'sample', 'part.npy'), 5);
  writeFileSync(join(root, 'odd', 'manifest.json'), JSON.stringify({ format: 'sci-cluster/indexes@1', shards: [{ files: [{ path: 'sample/part.npy' }] }] }));

  assert.deepEqual(findLeftovers(root, { olderThanMs: 0 }), [], 'only when asked');
  const found = findLeftovers(root, { olderThanMs: 0, intermediates: kinds });
  assert.deepEqual(found.map((l) => [l.path, l.kind, l.bytes]).sort(), [
    [join(root, 'indexes', 'sample'), 'job intermediate', 50],
    [join(root, 'mined', 'candidates'), 'job intermediate', 300],
    [join(root, 'mined', 'stats'), 'job intermediate', 20],
  ]);
  assert.equal(removeLeftovers(found), 370);
  for (const kept of ['mined/negatives.arrow', 'running/candidates/shard-00000.arrow', 'indexes/trained/ivf.faiss', 'odd/sample/part.npy'])
    assert.ok(existsSync(join(root, kept)), kept);
});

test("process temp folders: named with the process's pid, and a sweep removes only a dead process's old ones", (t) => {
  const own = processTempDir('query-encoder');
  t.after(() => rmSync(own, { recursive: true, force: true }));
  assert.equal(processTempOwner(basename(own)), process.pid);
  assert.throws(() => processTempDir('../up'), /role/);
  for (const name of ['sci-nats-Ab12cd', 'sci-bench-hosts-x1y2z3', 'sci-shard-server-12-abc', 'other-query-encoder-12-abcdef'])
    assert.equal(processTempOwner(name), null, name);
  assert.equal(processTempOwner('sci-shard-server-4242-Zz09aB'), 4242);

  const dir = tempDir(t);
  const old = (Date.now() - 48 * 3600_000) / 1000;
  const folder = (name: string, age: 'old' | 'young', bytes = 10) => {
    mkdirSync(join(dir, name, 'model'), { recursive: true });
    writeFileSync(join(dir, name, 'model', 'weights.bin'), Buffer.alloc(bytes));
    if (age === 'old') utimesSync(join(dir, name), old, old);
    return join(dir, name);
  };
  const dead = folder('sci-query-encoder-1001-aaaaaa', 'old', 700);
  const deadYoung = folder('sci-shard-server-1001-bbbbbb', 'young');
  const running = folder('sci-shard-server-1002-cccccc', 'old');
  const mine = folder(`sci-query-encoder-${process.pid}-dddddd`, 'old');
  const notOurs = folder('sci-nats-eeeeee', 'old');
  writeFileSync(join(dir, 'sci-query-encoder-1001-ffffff'), 'a file, not a folder');
  utimesSync(join(dir, 'sci-query-encoder-1001-ffffff'), old, old);

  const found = findDeadProcessFolders({ dir, olderThanMs: 24 * 3600_000, alive: (pid) => pid === 1002 });
  assert.deepEqual(
    found.map((l) => [l.path, l.kind]),
    [[dead, 'dead process folder']],
  );
  assert.equal(removeLeftovers(found), 700);
  assert.ok(!existsSync(dead) && [deadYoung, running, mine, notOurs].every((path) => existsSync(path)));
  // The real liveness check: this process runs; a pid past the kernel's limit does not.
  assert.equal(processAlive(process.pid), true);
  assert.equal(processAlive(2 ** 22 + 1), false);
});
