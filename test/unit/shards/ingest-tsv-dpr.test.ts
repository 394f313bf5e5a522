import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DprJsonIngester, IngestError, runIngest, splitTsvLine, TsvIngester, verifyShardSet } from '../../../shards/index.js';
import { needsSharedData, SHARED_DATA, tempDir } from '../../support/paths.js';
import { allPassages, rejectedRows, TEST_INGEST } from '../../support/shards.js';

test('TSV fields: plain, CSV-quoted with doubled quotes, broken quoting', () => {
  assert.deepEqual(splitTsvLine('1\tplain text\tTitle'), ['1', 'plain text', 'Title']);
  assert.deepEqual(splitTsvLine('2\t"quoted ""inner"" text"\t"T"'), ['2', 'quoted "inner" text', 'T']);
  assert.deepEqual(splitTsvLine('3\tsays "hi" here\tT'), ['3', 'says "hi" here', 'T']);
  assert.deepEqual(splitTsvLine('4\t"tab\tinside"\tT'), ['4', 'tab\tinside', 'T']);
  assert.deepEqual(splitTsvLine('5\t\t'), ['5', '', '']);
  assert.equal(splitTsvLine('6\t"unterminated\tT'), null);
  assert.equal(splitTsvLine('7\t"closed"junk\tT'), null);
});

test('DPR psgs_w100 TSV: header by name, bad rows rejected with line numbers', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'psgs.tsv');
  writeFileSync(file, '\ufeffid\ttext\ttitle\r\n1\tfirst text\tA\r\n2\t"quoted ""x"""\tB\n3\tonly two\n\n4\t"broken\tC\n1\tdup\tD\n5\t\t\n6\tlast\tE');
  const out = join(dir, 'out');
  const { manifest } = await runIngest({ ingester: new TsvIngester(file), format: 'tsv', input: file, outDir: out, layout: { shardCount: 2 }, ...TEST_INGEST });
  assert.equal(manifest.rowsIn, 7);
  assert.equal(manifest.rowsWritten, 3);
  assert.deepEqual(manifest.linesSkipped, { header: 1, blank: 1 });
  assert.deepEqual(
    rejectedRows(out, manifest).map((r) => [r.line, r.reason]),
    [
      [4, 'wrong_field_count'],
      [6, 'bad_quoting'],
      [7, 'duplicate_id'],
      [8, 'empty_text'],
    ],
  );
  assert.deepEqual(
    (await allPassages(out, manifest)).map((p) => [p.externalId, p.title, p.text]),
    [
      ['1', 'A', 'first text'],
      ['2', 'B', 'quoted "x"'],
      ['6', 'E', 'last'],
    ],
  );
});

test('TSV without the expected header is a clear error naming file and line', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'noheader.tsv');
  writeFileSync(file, '1\tsome text\tTitle\n');
  await assert.rejects(
    runIngest({ ingester: new TsvIngester(file), format: 'tsv', input: file, outDir: join(dir, 'out'), layout: { shardCount: 1 }, ...TEST_INGEST }),
    (err: unknown) => err instanceof IngestError && err.file === file && err.line === 1 && /header/.test(err.message),
  );
});

test('the shared psgs_w100 sample: 751 passages, none rejected', { skip: needsSharedData('nq-dpr-sample') }, async (t) => {
  const file = join(SHARED_DATA, 'nq-dpr-sample', 'psgs_w100.sample.tsv');
  const out = join(tempDir(t), 'out');
  const { manifest } = await runIngest({
    ingester: new TsvIngester(file),
    format: 'tsv',
    input: file,
    outDir: out,
    layout: { rowsPerShard: 300 },
    ...TEST_INGEST,
    batchRows: 64,
  });
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [751, 751, 0]);
  assert.deepEqual(
    manifest.shards.map((s) => s.rows),
    [300, 300, 151],
  );
  await verifyShardSet(out);
});

test('DPR retriever JSON: passages deduplicated as references, judgments and negatives normalised', { skip: needsSharedData('nq-dpr-sample') }, async (t) => {
  const dir = tempDir(t);
  const file = join(SHARED_DATA, 'nq-dpr-sample', 'nq-dev-sample.dpr.json');
  const out = join(dir, 'out');
  const { manifest } = await runIngest({
    ingester: new DprJsonIngester(file, { split: 'dev' }),
    format: 'dpr',
    input: file,
    outDir: out,
    layout: { shardCount: 2 },
    ...TEST_INGEST,
    batchRows: 100,
  });
  const passages = await allPassages(out, manifest);
  // Every context of the sample is one of the corpus.jsonl passages of the same folder.
  const corpusIds = new Set(
    readFileSync(join(SHARED_DATA, 'nq-dpr-sample', 'corpus.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { _id: string })._id),
  );
  assert.ok(passages.every((p) => corpusIds.has(p.externalId)));
  assert.equal(manifest.rowsRejected, 0);
  assert.equal(manifest.rowsWritten, new Set(passages.map((p) => p.externalId)).size);
  assert.ok(manifest.passageReferences > 0);
  assert.equal(manifest.queries?.rowsWritten, 3);
  const qrels = readFileSync(join(out, 'qrels', 'dev.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  const expected = readFileSync(join(SHARED_DATA, 'nq-dpr-sample', 'qrels.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1);
  assert.deepEqual(qrels.sort(), expected.sort());
  assert.ok((manifest.negatives?.splits.dev?.rows ?? 0) > 100);
  await verifyShardSet(out);
});

test('DPR JSON: bad records and contexts are rejected by record index; a broken array is a clear error', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'train.json');
  const ctx = (id: string, text = `passage ${id}`) => ({ title: `T${id}`, text, passage_id: id });
  writeFileSync(
    file,
    JSON.stringify([
      { question: 'q one?', answers: ['a'], positive_ctxs: [ctx('1'), ctx('1')], hard_negative_ctxs: [ctx('2')], negative_ctxs: [] },
      { question: '', positive_ctxs: [ctx('3')] },
      'not a record',
      { question: 'q four?', positive_ctxs: [{ title: 'x', text: 'no id' }, ctx('2'), { title: '', text: '', passage_id: '5' }], negative_ctxs: 'oops' },
    ]),
  );
  const out = join(dir, 'out');
  const { manifest } = await runIngest({
    ingester: new DprJsonIngester(file),
    format: 'dpr',
    input: file,
    outDir: out,
    layout: { shardCount: 1 },
    ...TEST_INGEST,
  });
  assert.deepEqual([manifest.rowsIn, manifest.rowsWritten, manifest.rowsRejected], [6, 3, 3]);
  assert.equal(manifest.passageReferences, 2);
  assert.deepEqual(
    rejectedRows(out, manifest).map((r) => [r.kind, r.position, r.line, r.reason]),
    [
      ['query', 'record', 2, 'empty_text'],
      ['query', 'record', 3, 'not_an_object'],
      ['passage', 'record', 4, 'missing_field'],
      ['passage', 'record', 4, 'empty_text'],
      ['qrel', 'record', 4, 'unknown_corpus_id'],
      ['passage', 'record', 4, 'wrong_type'],
    ],
  );
  assert.equal(readFileSync(join(out, 'qrels', 'default.tsv'), 'utf8'), 'query-id\tcorpus-id\tscore\n1\t1\t1\n4\t2\t1\n');
  assert.equal(readFileSync(join(out, 'negatives', 'default.tsv'), 'utf8'), 'query-id\tcorpus-id\tkind\n1\t2\thard\n');

  const broken = join(dir, 'broken.json');
  copyFileSync(file, broken);
  writeFileSync(broken, readFileSync(file, 'utf8').slice(0, 150));
  await assert.rejects(
    runIngest({ ingester: new DprJsonIngester(broken), format: 'dpr', input: broken, outDir: join(dir, 'out2'), layout: { shardCount: 1 }, ...TEST_INGEST }),
    (err: unknown) => err instanceof IngestError && err.file === broken && /not a valid JSON array/.test(err.message),
  );
});
