import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_REQUEST_LIMITS, NATS_MAX_PAYLOAD_BYTES, SHARD_REQUEST_LIMITS } from '../../../common/index.js';
import { loadConfig, ConfigError } from '../../../config/index.js';
import { SEARCH_LIMITS } from '../../../faiss/index.js';
import { FIRST_BYTES_PER_ENTRY, PAYLOAD_SHARE, ReplySlicer } from '../../../search/reply-slices.js';
import { SearchBodySchema } from '../../../api/handlers.js';

/*
 * The limits that must fit together, checked against each other (common/limits.ts): whatever the API
 * accepts, the shard servers accept, the Faiss addon can run, and NATS can carry (whole, or in slices).
 */

test('every request the API accepts is one the shard servers accept, and the addon can run', () => {
  assert.ok(API_REQUEST_LIMITS.maxK <= SHARD_REQUEST_LIMITS.maxK && SHARD_REQUEST_LIMITS.maxK <= SEARCH_LIMITS.maxK);
  assert.ok(API_REQUEST_LIMITS.maxQueries <= SHARD_REQUEST_LIMITS.maxQueries);
  assert.ok(SHARD_REQUEST_LIMITS.maxEfSearch <= SEARCH_LIMITS.maxEfSearch && SHARD_REQUEST_LIMITS.maxNprobe <= SEARCH_LIMITS.maxNprobe);
  assert.ok(SHARD_REQUEST_LIMITS.maxHeaderBytes < NATS_MAX_PAYLOAD_BYTES, 'a request header fits a message');
  // The API's schema is the table's: one past each cap is refused naming the field.
  for (const [body, field] of [
    [{ index: 'x', query: 'q', k: API_REQUEST_LIMITS.maxK + 1 }, 'k'],
    [{ index: 'x', queries: Array(API_REQUEST_LIMITS.maxQueries + 1).fill('q') }, 'queries'],
    [{ index: 'x', query: 'q'.repeat(API_REQUEST_LIMITS.maxQueryChars + 1) }, 'query'],
  ] as const) {
    const parsed = SearchBodySchema.safeParse(body);
    assert.equal(parsed.success, false, field);
    assert.equal(parsed.error!.issues[0]!.path[0], field);
  }
  // Config cannot raise the API past the table.
  assert.throws(() => loadConfig({ env: {}, overrides: { 'api.maxK': API_REQUEST_LIMITS.maxK + 1 } }), ConfigError);
  assert.throws(() => loadConfig({ env: {}, overrides: { 'api.maxQueries': API_REQUEST_LIMITS.maxQueries + 1 } }), ConfigError);
});

test('every accepted request is carried: a slice of any size the slicer picks fits the shard caps and one message', () => {
  const slicer = new ReplySlicer(() => NATS_MAX_PAYLOAD_BYTES);
  for (const k of [1, 10, 100, 1000, API_REQUEST_LIMITS.maxK]) {
    for (const requestBytes of [0, 4 * 768, 4 * SHARD_REQUEST_LIMITS.maxDim, 2 * 256 * 258]) {
      const per = slicer.queriesPerSlice(k, requestBytes);
      assert.ok(per >= 1);
      assert.ok(per * k <= SHARD_REQUEST_LIMITS.maxResultEntries, `k ${k}: ${per * k} entries per slice`);
      assert.ok(per * k * FIRST_BYTES_PER_ENTRY <= NATS_MAX_PAYLOAD_BYTES * PAYLOAD_SHARE, 'the answer fits');
      if (per > 1) assert.ok(per * requestBytes <= NATS_MAX_PAYLOAD_BYTES * PAYLOAD_SHARE, 'the request fits');
    }
  }
  // One query at the largest k fits a message with ids as long as the estimate allows.
  assert.ok(API_REQUEST_LIMITS.maxK * FIRST_BYTES_PER_ENTRY < NATS_MAX_PAYLOAD_BYTES);
  // Answers with longer ids than seen so far make later slices smaller, never larger.
  const before = slicer.queriesPerSlice(100);
  slicer.observe(1000, 1000 * 200);
  assert.ok(slicer.queriesPerSlice(100) < before);
  slicer.observe(1000, 1000 * 20);
  assert.ok(slicer.queriesPerSlice(100) < before, 'the largest ratio seen holds');
});
