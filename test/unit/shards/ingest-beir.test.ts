import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BeirIngester, readManifest, runIngest, StrictModeError, verifyShardSet } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';
import { allPassages, rejectedRows, TEST_INGEST } from '../../support/shards.js';

const GOOD = (id: string, text = `text of ${id}`) => JSON.stringify({ _id: id, title: `title ${id}`, text });

function beirFolder(dir: string, corpusLines: Array<string | Buffer>, queries: string[] = [], qrels: string[] = []): string {
  const folder = join(dir, 'in');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'corpus.jsonl'),
    Buffer.concat(corpusLines.map((l) => Buffer.concat([typeof l === 'string' ? Buffer.from(l) : l, Buffer.from('\n')]))),
  );
  if (queries.length > 0) writeFileSync(join(folder, 'queries.jsonl'), `${queries.join('\n')}\n`);
  if (qrels.length > 0) writeFileSync(join(folder, 'qrels.tsv'), `query-id\tcorpus-id\tscore\n${qrels.join('\n')}\n`);
  return folder;
}

test('every bad line is rejected with file, line and reason; the counts add up', async (t) => {
  const dir = tempDir(t);
  const input = beirFolder(dir, [
    GOOD('a'), // 1
    '{"_id": "b", "text": "unterminated', // 2 malformed
    GOOD('c'), // 3
    '', // 4 blank: not a row
    GOOD('a', 'again'), // 5 duplicate
    JSON.stringify({ _id: 'd', title: '', text: '   ' }), // 6 empty
    JSON.stringify({ title: 'no id', text: 'x' }), // 7 missing id
    Buffer.concat([Buffer.from('{"_id": "e", "text": "bad '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), // 8 invalid utf-8
    JSON.stringify({ _id: 'f', text: 'x'.repeat(5000) }), // 9 too long
    '[1, 2]', // 10 not an object
    JSON.stringify({ _id: 'g', text: 42 }), // 11 wrong type
    `${GOOD('h')}\r`, // 12 CRLF
    JSON.stringify({ _id: 7, text: 'numeric id' }), // 13
  ]);
  const out = join(dir, 'out');
  const { manifest } = await runIngest({ ingester: new BeirIngester(input), format: 'beir', input, outDir: out, layout: { rowsPerShard: 2 }, ...TEST_INGEST });
  assert.equal(manifest.rowsIn, 12);
  assert.equal(manifest.rowsWritten, 4);
  assert.equal(manifest.rowsRejected, 8);
  assert.equal(manifest.rowsIn, manifest.rowsWritten + manifest.rowsRejected);
  assert.deepEqual(manifest.linesSkipped, { blank: 1 });
  const rejected = rejectedRows(out, manifest);
  assert.deepEqual(
    rejected.map((r) => [r.line, r.reason]),
    [
      [2, 'malformed_json'],
      [5, 'duplicate_id'],
      [6, 'empty_text'],
      [7, 'missing_field'],
      [8, 'invalid_utf8'],
      [9, 'line_too_long'],
      [10, 'not_an_object'],
      [11, 'wrong_type'],
    ],
  );
  for (const r of rejected) {
    assert.equal(r.source, join(input, 'corpus.jsonl'));
    assert.ok(r.message.length > 0);
    assert.ok(r.excerpt.length <= 41);
  }
  const passages = await allPassages(out, manifest);
  assert.deepEqual(
    passages.map((p) => [p.rowId, p.externalId, p.text]),
    [
      [0, 'a', 'text of a'],
      [1, 'c', 'text of c'],
      [2, 'h', 'text of h'],
      [3, '7', 'numeric id'],
    ],
  );
  assert.deepEqual(
    manifest.shards.map((s) => [s.id, s.rows, s.firstRowId]),
    [
      [0, 2, 0],
      [1, 2, 2],
    ],
  );
  await verifyShardSet(out);
});

test('queries and judgments are normalised and checked against both id sets', async (t) => {
  const dir = tempDir(t);
  const input = beirFolder(
    dir,
    [GOOD('d1'), GOOD('d2')],
    [JSON.stringify({ _id: 'q1', text: 'first?', answers: ['x'] }), JSON.stringify({ _id: 'q2', text: '' }), JSON.stringify({ _id: 'q1', text: 'dup' })],
    ['q1\td1\t1', 'q1\td9\t1', 'q9\td1\t1', 'q1\td2\tx', 'q1\td1\t1', 'q1\td2\t2', 'q1 d2'],
  );
  const out = join(dir, 'out');
  const { manifest } = await runIngest({
    ingester: new BeirIngester(input, { qrelsSplit: 'dev' }),
    format: 'beir',
    input,
    outDir: out,
    layout: { shardCount: 1 },
    ...TEST_INGEST,
  });
  assert.deepEqual(manifest.queries && { in: manifest.queries.rowsIn, w: manifest.queries.rowsWritten, r: manifest.queries.rowsRejected }, {
    in: 3,
    w: 1,
    r: 2,
  });
  assert.deepEqual(manifest.qrels && { in: manifest.qrels.rowsIn, w: manifest.qrels.rowsWritten, r: manifest.qrels.rowsRejected }, { in: 7, w: 2, r: 5 });
  assert.deepEqual(readFileSync(join(out, 'qrels', 'dev.tsv'), 'utf8'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t2\n');
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'queries.jsonl'), 'utf8')), { _id: 'q1', text: 'first?', answers: ['x'] });
  const reasons = rejectedRows(out, manifest)
    .filter((r) => r.kind === 'qrel')
    .map((r) => r.reason);
  assert.deepEqual(reasons, ['unknown_corpus_id', 'unknown_query_id', 'bad_score', 'duplicate_id', 'wrong_field_count']);
  const reread = readManifest(out).manifest;
  assert.deepEqual(reread, manifest);
});

test('--strict: rejections fail the run and no manifest or shard is published', async (t) => {
  const dir = tempDir(t);
  const input = beirFolder(dir, [GOOD('a'), 'not json']);
  const out = join(dir, 'out');
  await assert.rejects(
    runIngest({ ingester: new BeirIngester(input), format: 'beir', input, outDir: out, layout: { shardCount: 2 }, ...TEST_INGEST, strict: true }),
    (err: unknown) => err instanceof StrictModeError && err.rowsRejected === 1,
  );
  assert.equal(existsSync(join(out, 'manifest.json')), false);
  assert.equal(existsSync(join(out, 'passages-00000.arrow')), false);
  assert.match(readFileSync(join(out, 'rejected.jsonl'), 'utf8'), /"line":2,"position":"line".*malformed_json|malformed_json/);
});

test('a fixed shard count splits evenly, with empty shards when rows are fewer', async (t) => {
  const dir = tempDir(t);
  const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const input = beirFolder(
    dir,
    ids.map((id) => GOOD(id)),
  );
  for (const [shards, sizes] of [
    [3, [3, 3, 4]],
    [4, [2, 3, 2, 3]],
    [12, null],
  ] as const) {
    const out = join(dir, `out-${shards}`);
    const { manifest } = await runIngest({
      ingester: new BeirIngester(input),
      format: 'beir',
      input,
      outDir: out,
      layout: { shardCount: shards },
      ...TEST_INGEST,
    });
    assert.equal(manifest.shards.length, shards);
    const rows = manifest.shards.map((s) => s.rows);
    if (sizes !== null) assert.deepEqual(rows, sizes);
    assert.equal(
      rows.reduce((a, b) => a + b, 0),
      10,
    );
    assert.ok(Math.max(...rows) - Math.min(...rows) <= 1, `uneven split ${rows}`);
    assert.deepEqual(
      (await allPassages(out, manifest)).map((p) => p.externalId),
      ids,
    );
    await verifyShardSet(out);
    assert.equal(existsSync(join(out, '.spool.arrow')), false);
  }
});

test('rerunning into the same folder overwrites and drops stale shards', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'out');
  const big = beirFolder(
    join(dir, 'big'),
    Array.from({ length: 9 }, (_, i) => GOOD(`x${i}`)),
  );
  await runIngest({ ingester: new BeirIngester(big), format: 'beir', input: big, outDir: out, layout: { rowsPerShard: 2 }, ...TEST_INGEST });
  assert.ok(existsSync(join(out, 'passages-00004.arrow')));
  const small = beirFolder(join(dir, 'small'), [GOOD('y')]);
  const { manifest } = await runIngest({
    ingester: new BeirIngester(small),
    format: 'beir',
    input: small,
    outDir: out,
    layout: { rowsPerShard: 2 },
    ...TEST_INGEST,
  });
  assert.equal(manifest.shards.length, 1);
  assert.equal(existsSync(join(out, 'passages-00004.arrow')), false);
  await verifyShardSet(out);
});
