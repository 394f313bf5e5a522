import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { ArrowRowReader, PassageLookup, ShardFileWriter, ShardFormatError, passageSchema } from '../../../shards/index.js';
import { PassageBatchBuilder } from '../../../shards/passage-schema.js';
import { seededRandom } from '../../../common/index.js';
import { tempDir } from '../../support/paths.js';

/** A passage shard of `rows` rows from global row id `first`, written in batches of `batchRows` as ingest writes it. */
function writeShard(path: string, first: number, rows: number, batchRows: number) {
  const schema = passageSchema();
  const writer = new ShardFileWriter(path, schema);
  const builder = new PassageBatchBuilder(schema);
  const random = seededRandom(7);
  for (let i = 0; i < rows; i++) {
    const words = Array.from({ length: Math.floor(random() * 12) }, (_, w) => ['dog', 'Zürich', '犬', 'naïve', '🙂', ''][(i + w) % 6]);
    builder.push(first + i, { externalId: `p${i}`, title: i % 5 === 0 ? '' : `title ${i}`, text: words.join(' ') });
    if (builder.length === batchRows) writer.write(builder.flush());
  }
  if (builder.length > 0) writer.write(builder.flush());
  writer.commit();
}

test('single values read by row equal the whole-table read, across batches, with empty and multibyte strings', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'passages-00000.arrow');
  writeShard(path, 1000, 2500, 512);
  const table = tableFromIPC(readFileSync(path));
  assert.equal(table.batches.length, 5);
  const reader = ArrowRowReader.open(path);
  t.after(() => reader.close());
  assert.equal(reader.rows, 2500);
  const rows = [0, 1, 511, 512, 513, 1023, 2048, 2499, 7, 7];
  assert.deepEqual(
    reader.utf8At('text', rows),
    rows.map((r) => table.getChild('text')!.get(r)),
  );
  assert.deepEqual(
    reader.utf8At('title', rows),
    rows.map((r) => table.getChild('title')!.get(r)),
  );
  assert.deepEqual(
    reader.int64At('rowId', rows),
    rows.map((r) => BigInt(1000 + r)),
  );
  assert.deepEqual([...reader.utf8Column('externalId')].flat(), Array.from(table.getChild('externalId')!.toArray()));
  assert.deepEqual(
    [...reader.int64Column('rowId')].flatMap((b) => [...b]),
    [...(table.getChild('rowId')!.toArray() as BigInt64Array)],
  );
  assert.throws(() => reader.utf8At('text', [2500]), /row 2500 is outside the file's 2500 rows/);
  assert.throws(() => reader.utf8At('rowId', [0]), /column rowId is Int64, not Utf8/);
  assert.throws(() => reader.utf8At('body', [0]), /no column body \(columns: rowId, externalId, title, text\)/);
});

test('a passage lookup checks each row id against the row it reads', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'passages-00001.arrow');
  writeShard(path, 5000, 300, 128);
  const table = tableFromIPC(readFileSync(path));
  const lookup = PassageLookup.open(path, 5000);
  t.after(() => lookup.close());
  assert.deepEqual(lookup.read([5299, 5000, 5130], ['title', 'text']), [
    { title: table.getChild('title')!.get(299), text: table.getChild('text')!.get(299) },
    { title: table.getChild('title')!.get(0), text: table.getChild('text')!.get(0) },
    { title: table.getChild('title')!.get(130), text: table.getChild('text')!.get(130) },
  ]);
  assert.deepEqual(lookup.read([5001], ['text']), [{ text: table.getChild('text')!.get(1) }]);
  // The manifest says the shard starts elsewhere: every read is refused, never a wrong passage.
  const shifted = PassageLookup.open(path, 4999);
  t.after(() => shifted.close());
  assert.throws(() => shifted.read([5000], ['text']), /row 1 holds row id 5001, not 5000/);
});

test('broken files are ShardFormatErrors naming the file', (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'good.arrow');
  writeShard(good, 0, 100, 64);
  const bytes = readFileSync(good);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not-arrow.arrow', Buffer.from('just some text, long enough to have a tail'), /no ARROW1 trailer/],
    ['truncated.arrow', bytes.subarray(0, bytes.length - 40), /no ARROW1 trailer/],
    ['empty.arrow', Buffer.alloc(0), /./],
  ];
  for (const [name, content, message] of cases) {
    const path = join(dir, name);
    writeFileSync(path, content);
    assert.throws(
      () => ArrowRowReader.open(path),
      (err: Error) => err instanceof ShardFormatError && message.test(err.message) && (err as ShardFormatError).file === path,
      name,
    );
  }
  // Footer intact, a batch's bytes gone: reading a value past the end fails by name, not with garbage.
  const cut = join(dir, 'hollow.arrow');
  const hollow = Buffer.from(bytes);
  hollow.fill(0, 8, bytes.length - 200);
  writeFileSync(cut, hollow);
  assert.throws(
    () => ArrowRowReader.open(cut),
    (err: Error) => err instanceof ShardFormatError && (err as ShardFormatError).file === cut,
  );
});
