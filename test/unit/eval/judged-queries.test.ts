import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalInputError, loadJudgedQueries } from '../../../eval/index.js';

test('judged queries: a malformed line is a typed, non-retryable input error naming the file and line', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-judged-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const queries = join(dir, 'queries.jsonl');
  const qrels = join(dir, 'qrels.tsv');
  writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq1\tp1\t1\n');
  writeFileSync(queries, '{"_id":"q1","text":"a"}\n{"_id":\n');
  assert.throws(
    () => loadJudgedQueries({ queries, qrels }),
    (err: unknown) => err instanceof EvalInputError && !err.retryable && err.file === queries && err.line === 2 && /invalid JSON/.test(err.message),
  );
  writeFileSync(queries, '{"_id":"q1"}\n');
  assert.throws(
    () => loadJudgedQueries({ queries, qrels }),
    (err: unknown) => err instanceof EvalInputError && err.line === 1,
  );
  writeFileSync(queries, '{"_id":"q1","text":"a"}\n');
  assert.deepEqual(loadJudgedQueries({ queries, qrels }).sample, { ids: ['q1'], texts: ['a'] });
});
