import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueriesFileError, readQueriesFile } from '../../../shards/index.js';
import { readQuerySplit } from '../../../mine/index.js';
import { loadJudgedQueries } from '../../../eval/index.js';

/* The one queries.jsonl reader: what it takes, and a typed, non-retryable error with the file and line for what it does not. */

function queriesFile(t: { after: (fn: () => void) => void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sci-queries-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'queries.jsonl'), text);
  writeFileSync(join(dir, 'qrels.tsv'), 'query-id\tcorpus-id\tscore\nq1\tp1\t1\n');
  return join(dir, 'queries.jsonl');
}

test('queries.jsonl: string or numeric _id, text, optional split and answers (non-string answers dropped), blank lines skipped', (t) => {
  const file = queriesFile(t, '{"_id":"q1","text":"a","split":"dev","answers":["x",3]}\n\n{"_id":7,"text":"b","extra":true}\n');
  assert.deepEqual(readQueriesFile(file), [
    { id: 'q1', text: 'a', split: 'dev', answers: ['x'] },
    { id: '7', text: 'b', split: null, answers: [] },
  ]);
});

test('queries.jsonl: a line that is not JSON, or not a query, fails with the file, the line and the field', (t) => {
  const isError = (line: number, field: string | null, message: RegExp) => (err: unknown) =>
    err instanceof QueriesFileError && !err.retryable && err.line === line && err.field === field && message.test(err.message);
  const file = queriesFile(t, '{"_id":"q1","text":"a"}\n{"_id":\n');
  assert.throws(() => readQueriesFile(file), isError(2, null, /invalid JSON/));
  writeFileSync(file, '{"_id":"q1"}\n');
  assert.throws(() => readQueriesFile(file), isError(1, 'text', /not a query/));
  writeFileSync(file, '["q1","a"]\n');
  assert.throws(() => readQueriesFile(file), isError(1, 'value', /not a query/));
  assert.throws(
    () => readQueriesFile(`${file}.missing`),
    (err: unknown) => err instanceof QueriesFileError && /cannot read queries/.test(err.message),
  );
});

test("the mine job's and the evaluation's queries go through the same reader", (t) => {
  const file = queriesFile(t, '{"_id":"q1","text":"a"}\nnot json\n');
  const qrels = join(file, '..', 'qrels.tsv');
  for (const read of [() => readQuerySplit(file, qrels), () => loadJudgedQueries({ queries: file, qrels })])
    assert.throws(read, (err: unknown) => err instanceof QueriesFileError && err.file === file && err.line === 2);
  writeFileSync(file, '{"_id":"q1","text":"a","answers":["b"]}\n');
  assert.deepEqual(readQuerySplit(file, qrels), { ids: ['q1'], texts: ['a'], positives: [new Set(['p1'])], answers: [['b']] });
  assert.deepEqual(loadJudgedQueries({ queries: file, qrels }).sample, { ids: ['q1'], texts: ['a'] });
});

test("a mine job's split is parsed once per thread while its files stay the same, and again when either changes", (t) => {
  const file = queriesFile(t, '{"_id":"q1","text":"a"}\n{"_id":"q2","text":"b"}\n');
  const qrels = join(file, '..', 'qrels.tsv');
  const first = readQuerySplit(file, qrels);
  assert.equal(readQuerySplit(file, qrels), first, 'the second task of a job reuses the parse');
  // Rewritten in place, same length: a new mtime makes a new identity.
  writeFileSync(file, '{"_id":"q1","text":"z"}\n{"_id":"q2","text":"b"}\n');
  const later = new Date(Date.now() + 5_000);
  utimesSync(file, later, later);
  assert.deepEqual(readQuerySplit(file, qrels).texts, ['z']);
  writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq2\tp9\t1\n');
  assert.deepEqual(readQuerySplit(file, qrels), { ids: ['q2'], texts: ['b'], positives: [new Set(['p9'])], answers: [[]] });
  // A file that is gone is the reader's typed error, not a stat error.
  rmSync(file);
  assert.throws(
    () => readQuerySplit(file, qrels),
    (err: unknown) => err instanceof QueriesFileError && err.file === file,
  );
});
