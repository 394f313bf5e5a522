import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MineInputError, readQuerySplit } from '../../../mine/index.js';

test("a mine job's queries: a malformed line is a typed, non-retryable input error naming the file and line", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-mine-queries-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const queries = join(dir, 'queries.jsonl');
  const qrels = join(dir, 'qrels.tsv');
  writeFileSync(qrels, 'query-id\tcorpus-id\tscore\nq1\tp1\t1\n');
  writeFileSync(queries, '{"_id":"q1","text":"a"}\nnot json\n');
  assert.throws(
    () => readQuerySplit(queries, qrels),
    (err: unknown) => err instanceof MineInputError && !err.retryable && err.file === queries && err.line === 2,
  );
});
