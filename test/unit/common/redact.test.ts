import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { redactPaths } from '../../../common/index.js';

test('messages leaving a process name no storage location: roots (longest first) and the temp folder become placeholders', () => {
  const text = `index set /data/sci/sets/wordnet has no index "x"; file /data/sci/cache/ab/f.arrow and ${tmpdir()}/sci-shard-server-1/bm25 missing; route /v1/search`;
  assert.equal(
    redactPaths(text, ['/data/sci', '/data/sci/sets/wordnet', '/']),
    'index set <storage> has no index "x"; file <storage>/cache/ab/f.arrow and <tmp>/sci-shard-server-1/bm25 missing; route /v1/search',
  );
});
