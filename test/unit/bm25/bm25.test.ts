import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BM25_FORMAT,
  Bm25ArgumentError,
  Bm25Builder,
  Bm25IndexError,
  buildBm25FromShards,
  EnglishAnalyzer,
  lengthToNorm,
  loadBm25,
  normToLength,
  openBm25Set,
  saveBm25,
  searchBm25Set,
} from '../../../bm25/index.js';
import { BeirIngester, runIngest } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';

test('the analyzer: tokens, possessives, lowercase, Lucene stop words, Porter stems', () => {
  const a = new EnglishAnalyzer();
  assert.deepEqual(a.analyze("The runner's shoes are running in the rain!"), ['runner', 'shoe', 'run', 'rain']);
  assert.deepEqual(a.analyze('Relational databases, e.g. PostgreSQL 15.2; it’s ponies.'), ['relat', 'databas', 'e.g', 'postgresql', '15.2', 'poni']);
  assert.deepEqual(a.analyze('Über café — naïve'), ['über', 'café', 'naïv']);
  assert.deepEqual(a.analyze('to be or not to be'), []);
});

test('Lucene one-byte norms: exact below 24, rounded down above', () => {
  for (let i = 0; i < 24; i++) assert.equal(normToLength(lengthToNorm(i)), i);
  assert.equal(lengthToNorm(100), 57);
  assert.equal(normToLength(57), 96);
  let previous = -1;
  for (let len = 0; len < 5000; len += 7) {
    const decoded = normToLength(lengthToNorm(len));
    assert.ok(decoded <= len && decoded >= previous, `length ${len} → ${decoded}`);
    previous = decoded;
  }
});

test('scores equal the BM25 formula computed by hand', () => {
  const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
  builder.add(10, 'd1', 'apple banana apple');
  builder.add(11, 'd2', 'banana cherry');
  builder.add(12, 'd3', 'cherry cherry cherry durian');
  const index = builder.build();
  // N = 3, lengths 3, 2, 4, avgdl = 3; "apple" df 1, "cherry" df 2.
  const idf = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5));
  const part = (tf: number, dl: number) => tf / (tf + 0.9 * (1 - 0.4 + (0.4 * dl) / 3));
  const hits = index.search('apple cherry cherry', 3);
  const expected = new Map([
    ['d1', idf(1) * part(2, 3)],
    ['d2', 2 * idf(2) * part(1, 2)],
    ['d3', 2 * idf(2) * part(3, 4)],
  ]);
  assert.equal(hits.length, 3);
  for (const hit of hits)
    assert.ok(Math.abs(hit.score - expected.get(hit.externalId)!) < 1e-12, `${hit.externalId}: ${hit.score} vs ${expected.get(hit.externalId)}`);
  assert.deepEqual(
    hits.map((h) => h.externalId),
    [...expected.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => id),
  );
  assert.equal(hits.find((h) => h.externalId === 'd3')!.rowId, 12);
  assert.deepEqual(index.search('zebra', 5), []);
  assert.throws(() => index.search('apple', 0), Bm25ArgumentError);
});

test('ties go to the earlier document; k bounds the result', () => {
  const builder = new Bm25Builder();
  for (let i = 0; i < 50; i++) builder.add(i, `d${i}`, 'same words here');
  const hits = builder.build().search('words', 5);
  assert.deepEqual(
    hits.map((h) => h.externalId),
    ['d0', 'd1', 'd2', 'd3', 'd4'],
  );
});

test('a sharded set with corpus statistics scores exactly like one global index', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'in'));
  const words = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'iota', 'kappa'];
  const lines = Array.from({ length: 300 }, (_, i) =>
    JSON.stringify({ _id: `doc${i}`, title: words[i % 7], text: Array.from({ length: 3 + (i % 11) }, (_, j) => words[(i * j + j) % 10]).join(' ') }),
  );
  writeFileSync(join(dir, 'in', 'corpus.jsonl'), lines.join('\n'));
  const ingest = (shards: number) =>
    runIngest({
      ingester: new BeirIngester(join(dir, 'in')),
      format: 'beir',
      input: join(dir, 'in'),
      outDir: join(dir, `p${shards}`),
      layout: { shardCount: shards },
      batchRows: 64,
      maxLineBytes: 1 << 20,
      excerptChars: 50,
      strict: false,
    });
  await ingest(1);
  await ingest(4);
  await buildBm25FromShards(join(dir, 'p1'), join(dir, 'b1'));
  await buildBm25FromShards(join(dir, 'p4'), join(dir, 'b4'));
  const one = openBm25Set(join(dir, 'b1'));
  const four = openBm25Set(join(dir, 'b4'));
  assert.equal(four.shards.length, 4);
  let differsWithShardStats = false;
  for (const query of ['alpha beta', 'gamma gamma zeta', 'kappa', 'eta theta iota alpha']) {
    const global = searchBm25Set(one, query, 20);
    const sharded = searchBm25Set(four, query, 20);
    assert.deepEqual(
      sharded.map((h) => h.rowId),
      global.map((h) => h.rowId),
      query,
    );
    sharded.forEach((h, i) => assert.ok(Math.abs(h.score - global[i]!.score) < 1e-9));
    const local = searchBm25Set(four, query, 20, { stats: 'shard' });
    if (local.some((h, i) => Math.abs(h.score - global[i]!.score) > 1e-9)) differsWithShardStats = true;
  }
  assert.ok(differsWithShardStats, 'per-shard statistics give different scores');
});

test('save / load round trip; a broken folder is a typed error', (t) => {
  const dir = tempDir(t);
  const builder = new Bm25Builder({ k1: 1.2, b: 0.75 });
  builder.add(0, 'a', 'the quick brown fox');
  builder.add(1, 'b"\nodd id', 'jumps over the lazy dog fox');
  const index = builder.build();
  saveBm25(index, join(dir, 'idx'));
  const loaded = loadBm25(join(dir, 'idx'), { verify: true });
  assert.deepEqual(loaded.search('fox dog', 2), index.search('fox dog', 2));
  assert.deepEqual(loaded.params, { k1: 1.2, b: 0.75 });
  assert.equal(loaded.parts.externalIds[1], 'b"\nodd id');
  writeFileSync(join(dir, 'idx', 'arrays.bin'), 'garbage');
  assert.throws(() => loadBm25(join(dir, 'idx'), { verify: true }), Bm25IndexError);
  assert.throws(() => loadBm25(join(dir, 'missing')), Bm25IndexError);
  assert.throws(() => new Bm25Builder({ k1: -1, b: 0.4 }), Bm25ArgumentError);
});

test('packed postings: the loaded arrays equal the built ones, in about half the bytes; a format-1 folder still loads', (t) => {
  const dir = tempDir(t);
  // Real text, enough documents for gaps past one byte (rare terms) and frequencies above one.
  const builder = new Bm25Builder({ k1: 0.9, b: 0.4 });
  const words = ['fox', 'dog', 'cat', 'bird', 'tree', 'river', 'stone', 'cloud', 'night', 'light'];
  for (let d = 0; d < 3000; d++) {
    const text = Array.from({ length: 12 }, (_, i) => words[(d * 7 + i * i * 3 + (d % 13)) % words.length]).join(' ') + (d % 997 === 0 ? ' aardvark' : '');
    builder.add(10_000 + d, `p${d}`, text);
  }
  const index = builder.build();
  saveBm25(index, join(dir, 'packed'));
  const loaded = loadBm25(join(dir, 'packed'), { verify: true });
  assert.deepEqual(loaded.parts.docs, index.parts.docs);
  assert.deepEqual(loaded.parts.tfs, index.parts.tfs);
  assert.deepEqual(loaded.parts.offsets, index.parts.offsets);
  assert.ok(
    index.parts.tfs.some((tf) => tf > 1),
    'some frequencies above one',
  );
  const meta = JSON.parse(readFileSync(join(dir, 'packed', 'meta.json'), 'utf8')) as { format: string; layout: Record<string, { length: number }> };
  assert.equal(meta.format, BM25_FORMAT);
  const packedBytes = meta.layout.docs!.length + meta.layout.tfs!.length;
  assert.ok(packedBytes < 0.5 * 6 * index.parts.docs.length, `${packedBytes} bytes for ${index.parts.docs.length} postings`);
  for (const query of ['fox night', 'aardvark', 'stone cloud river']) assert.deepEqual(loaded.search(query, 10), index.search(query, 10));

  // Format 1, as indexes built before were written: plain u32 documents and u16 frequencies.
  const p = index.parts;
  const plain = [p.offsets, p.docs, p.tfs, p.norms, p.rowIds] as const;
  const names = ['offsets', 'docs', 'tfs', 'norms', 'rowIds'] as const;
  let size = 0;
  const layout: Record<string, { offset: number; length: number }> = {};
  plain.forEach((array, i) => {
    layout[names[i]!] = { offset: size, length: array.length };
    size += Math.ceil(array.byteLength / 8) * 8;
  });
  const bin = Buffer.alloc(size);
  plain.forEach((array, i) => Buffer.from(array.buffer, array.byteOffset, array.byteLength).copy(bin, layout[names[i]!]!.offset));
  const old = join(dir, 'format-1');
  cpSync(join(dir, 'packed'), old, { recursive: true });
  writeFileSync(join(old, 'arrays.bin'), bin);
  const oldMeta = JSON.parse(readFileSync(join(old, 'meta.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    join(old, 'meta.json'),
    JSON.stringify({ ...oldMeta, format: 'sci-cluster/bm25@1', layout, arraysSha256: createHash('sha256').update(bin).digest('hex') }),
  );
  const fromOld = loadBm25(old, { verify: true });
  assert.deepEqual(fromOld.parts.docs, index.parts.docs);
  assert.deepEqual(fromOld.search('fox night', 10), index.search('fox night', 10));
  // A packed stream cut short is named, not read as garbage.
  const cut = join(dir, 'cut');
  cpSync(join(dir, 'packed'), cut, { recursive: true });
  const cutMeta = JSON.parse(readFileSync(join(cut, 'meta.json'), 'utf8')) as { layout: Record<string, { length: number }> };
  cutMeta.layout.docs!.length -= 3;
  writeFileSync(join(cut, 'meta.json'), JSON.stringify(cutMeta));
  assert.throws(
    () => loadBm25(cut),
    (err: unknown) => err instanceof Bm25IndexError && /packed postings/.test(err.message),
  );
});
