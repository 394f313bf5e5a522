import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EvalInputError, loadJudgedQueries } from '../../../eval/index.js';

test('judged queries: no qrels, an unreadable qrels file or no judged query is a typed, non-retryable input error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-judged-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const queries = join(dir, 'queries.jsonl');
  const qrels = join(dir, 'qrels.tsv');
  writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq1\tp1\t1\n');
  writeFileSync(queries, '{"_id":"q2","text":"a"}\n');
  const inputError = (message: RegExp) => (err: unknown) => err instanceof EvalInputError && !err.retryable && message.test(err.message);
  assert.throws(() => loadJudgedQueries({ queries }), inputError(/no qrels/));
  assert.throws(() => loadJudgedQueries({ queries, qrels: `${qrels}.missing` }), inputError(/cannot read qrels/));
  assert.throws(() => loadJudgedQueries({ queries, qrels }), inputError(/no judged queries/));
  writeFileSync(queries, '{"_id":"q1","text":"a","split":"dev"}\n{"_id":"q1b","text":"b"}\n');
  assert.deepEqual(loadJudgedQueries({ queries, qrels, split: 'dev' }).sample, { ids: ['q1'], texts: ['a'] });
});
