import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdFingerprintSet } from '../../../shards/index.js';

test('add reports new vs seen ids and survives growth', () => {
  const set = new IdFingerprintSet(16);
  const n = 200_000;
  for (let i = 0; i < n; i++) assert.equal(set.add(`id-${i}`), true);
  assert.equal(set.size, n);
  for (let i = 0; i < n; i += 997) {
    assert.equal(set.add(`id-${i}`), false);
    assert.equal(set.has(`id-${i}`), true);
  }
  assert.equal(set.has('id-x'), false);
  assert.equal(set.add(''), true);
  assert.equal(set.add(''), false);
  assert.equal(set.size, n + 1);
});

test('ids differing in one character are distinct', () => {
  const set = new IdFingerprintSet();
  for (const id of ['a', 'b', 'ab', 'ba', 'aa', '1', '01', '10', 'é', 'e\u0301']) assert.equal(set.add(id), true, id);
});
