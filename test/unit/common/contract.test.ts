import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ContractError, parseContract } from '../../../common/index.js';
import { ShardFormatError } from '../../../shards/index.js';

/* parseContract, the one "zod issue → typed error" converter: its options as its callers use them. */

const Schema = z.strictObject({ a: z.number(), b: z.object({ c: z.string() }) });

test('parseContract: the data, or the first issue as a ContractError naming its field', () => {
  assert.deepEqual(parseContract(Schema, { a: 1, b: { c: 'x' } }), { a: 1, b: { c: 'x' } });
  assert.throws(
    () => parseContract(Schema, { a: 1, b: { c: 2 } }),
    (err: unknown) => err instanceof ContractError && err.field === 'b.c' && /^b\.c: /.test(err.message),
  );
  assert.throws(
    () => parseContract(Schema, 7, { emptyField: '(root)' }),
    (err: unknown) => err instanceof ContractError && err.field === '(root)',
  );
});

test('parseContract options: the error class, where it was read, a field prefix, and every issue at once', () => {
  assert.throws(
    () => parseContract(Schema, { a: 'x', b: {} }, { what: 'invalid thing', error: ShardFormatError, file: '/f.json', line: 3, fieldPrefix: 'cfg.' }),
    (err: unknown) =>
      err instanceof ShardFormatError &&
      !err.retryable &&
      err.file === '/f.json' &&
      err.line === 3 &&
      err.field === 'cfg.a' &&
      /^invalid thing: cfg\.a: /.test(err.message),
  );
  assert.throws(
    () => parseContract(Schema, { a: 'x', b: {} }, { allIssues: true }),
    (err: unknown) => err instanceof ContractError && err.field === 'a' && /^a: .*; b\.c: /.test(err.message),
  );
});
