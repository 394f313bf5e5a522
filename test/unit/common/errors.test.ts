import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CancelledError, fromErrorWire, isCancellation, SciClusterError, toErrorWire, UsageError } from '../../../common/errors.js';
import { toApiError } from '../../../api/errors.js';
import { fromWorkerThread, WIRE_PREFIX } from '../../../stages/thread-errors.js';
import { FatalTaskError, RetryableTaskError } from '../../../jobs/index.js';
import { StorageError, StorageKeyError } from '../../../storage/index.js';
import { SearchRequestError } from '../../../search/index.js';
import { fromNative } from '../../../faiss/index.js';

test('every error class carries a stable code, retryable and status', () => {
  assert.deepEqual([new UsageError('x').status, new UsageError('x').retryable], [400, false]);
  assert.deepEqual([new StorageError('x').retryable, new StorageKeyError('x').retryable, new StorageKeyError('x').status], [true, false, 400]);
  assert.equal(new SearchRequestError('x', { field: 'k' }).status, 400);
  assert.equal(new CancelledError('x', { expired: true }).code, 'DEADLINE_EXCEEDED');
  assert.equal(new StorageError('x', { retryable: false }).retryable, false, 'an instance may override its class');
  assert.equal(fromNative(new Error('[DEADLINE_EXCEEDED] stopped')).code, 'DEADLINE_EXCEEDED');
  assert.equal(fromNative(new Error('[INVALID_ARGUMENT] bad k')).status, 400);
});

test('the API answers our 4xx errors as they are, anything else generically with a request id', () => {
  const bad = toApiError(new SearchRequestError('k must be …', { field: 'k' }));
  assert.deepEqual([bad.status, bad.code, bad.field, bad.message], [400, 'SEARCH_BAD_REQUEST', 'k', 'k must be …']);
  const logged: Array<{ err: unknown; id: string }> = [];
  const internal = toApiError(new Error('ENOENT: /srv/secret/index.faiss'), (err, id) => logged.push({ err, id }));
  assert.equal(internal.status, 500);
  assert.equal(internal.code, 'INTERNAL');
  assert.doesNotMatch(internal.message, /secret|ENOENT/);
  assert.match(internal.message, new RegExp(`request id ${logged[0]!.id}`));
  assert.match((logged[0]!.err as Error).message, /secret/, 'the details go to the log');
  const unavailable = toApiError(new StorageError('cannot read /srv/x'));
  assert.equal(unavailable.status, 503);
  assert.doesNotMatch(unavailable.message, /\/srv/);
});

test('errors cross the worker-thread boundary by their wire form, fatal when not retryable', () => {
  const across = (err: unknown) => fromWorkerThread(new Error(`${WIRE_PREFIX}${JSON.stringify(toErrorWire(err))}`));
  assert.ok(across(new StorageKeyError('outside')) instanceof FatalTaskError);
  assert.ok(across(new StorageError('EIO')) instanceof RetryableTaskError);
  assert.ok(across(new TypeError('a bug')) instanceof RetryableTaskError, 'unknown errors are not declared permanent');
  assert.ok(fromWorkerThread(new Error('worker thread exited')) instanceof RetryableTaskError);
  const fatal = across(new SciClusterError('SHARD_FORMAT', 'bad manifest', { field: 'shards.0.path' }, { retryable: false, status: 422 }));
  assert.match(fatal.message, /^SHARD_FORMAT: bad manifest/);
  assert.equal(fatal.field, 'shards.0.path');
  const back = fromErrorWire({ code: 'X', message: 'm', retryable: true, status: 503 });
  assert.deepEqual([back.code, back.retryable, back.status], ['X', true, 503]);
});

test('a cancellation is recognised wherever it sits in the cause chain, and nothing else is one', () => {
  const stop = new CancelledError('the worker is stopping');
  assert.ok(isCancellation(stop));
  // A pool thread's cancel comes back as a fatal task error with a CANCELLED cause.
  assert.ok(isCancellation(fromWorkerThread(new Error(`${WIRE_PREFIX}${JSON.stringify(toErrorWire(stop))}`))));
  // One wrapper more (a main-thread CancelledError passed through fromWorkerThread) is still a stop, not a failure.
  assert.ok(isCancellation(fromWorkerThread(stop)));
  assert.ok(isCancellation(new Error('outer', { cause: new Error('middle', { cause: stop }) })));
  assert.equal(isCancellation(new StorageError('EIO')), false);
  assert.equal(isCancellation(fromWorkerThread(new Error('worker thread exited'))), false);
  assert.equal(isCancellation('cancelled'), false);
  assert.equal(isCancellation(undefined), false);
});
