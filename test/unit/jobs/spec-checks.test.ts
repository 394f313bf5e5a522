import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSpecAgainstInputs } from '../../../coordinator/spec-checks.js';
import { checkFactoryLimits } from '../../../faiss/index.js';
import { JobSpecSchema, type JobSpecInput } from '../../../jobs/index.js';
import { EMBEDDING_SET_FORMAT, PASSAGE_FORMAT } from '../../../shards/index.js';
import { FsStorage } from '../../../storage/index.js';
import { tempDir } from '../../support/paths.js';

/*
 * Job specs that would exhaust a worker or overwrite a set are refused at submit, naming the field:
 * factory parameters past FACTORY_LIMITS or past the rows they train on, encoder sizes past their caps,
 * an output that is (or holds) an input, an output holding a set of another kind.
 */

const sha = 'a'.repeat(64);

/** An embedding set's manifest alone (the checks read nothing else): `shards` shards of `rows` rows, dim 32. */
function embeddingSet(root: string, key: string, shards: number, rows: number): void {
  mkdirSync(join(root, key), { recursive: true });
  const manifest = {
    format: EMBEDDING_SET_FORMAT,
    jobId: 'job-x',
    rowsIn: shards * rows,
    rowsWritten: shards * rows,
    rowsRejected: 0,
    passages: 'p',
    encoder: { kind: 'hashed-tfidf' },
    dim: 32,
    views: ['embedding'],
    shards: Array.from({ length: shards }, (_, id) => ({ id, path: `e-${id}.arrow`, rows, sha256: sha, bytes: 1, firstRowId: id * rows })),
  };
  writeFileSync(join(root, key, 'manifest.json'), JSON.stringify(manifest));
}

const parse = (spec: JobSpecInput) => JobSpecSchema.parse(spec);

test('factory limits: list, M, PQ bits and LSH bits past their caps, and lists or codes past the training rows, are refused naming the bound', () => {
  assert.throws(() => checkFactoryLimits('IVF1000000000,Flat', 'ip', 32, 1e9), /more than 1048576 lists/);
  assert.throws(() => checkFactoryLimits('IVF4096,Flat', 'ip', 32, 1000), /IVF4096 needs at least 4096 training rows .* gets 1000/);
  assert.throws(() => checkFactoryLimits('HNSW100000,Flat', 'ip', 32, 1e6), /M is at most 256/);
  assert.throws(() => checkFactoryLimits('IVF16,PQ8x20', 'ip', 32, 1e6), /PQ codes of 20 bits/);
  assert.throws(() => checkFactoryLimits('PQ8', 'ip', 32, 100), /8 bits need at least 256 training rows/);
  assert.throws(() => checkFactoryLimits('LSH100000', 'l2', 32, 1e6), /at most 8192 bits/);
  for (const ok of ['Flat', 'IVF256,Flat', 'IVF256,PQ8', 'HNSW32,Flat', 'PQ8', 'LSH']) checkFactoryLimits(ok, ok.startsWith('LSH') ? 'l2' : 'ip', 32, 10_000);
});

test('spec schema caps: encoder dim, buckets, batch size and efSearch', () => {
  for (const [spec, field] of [
    [{ kind: 'encode', input: 'a', output: 'b', encoder: { kind: 'hashed-tfidf', dim: 100_000 } }, 'encoder.dim'],
    [{ kind: 'encode', input: 'a', output: 'b', encoder: { kind: 'hashed-tfidf', buckets: 1 << 30 } }, 'encoder.buckets'],
    [{ kind: 'encode', input: 'a', output: 'b', encoder: { kind: 'model', path: 'm', batchSize: 1e6 } }, 'encoder.batchSize'],
    [{ kind: 'index', input: 'a', output: 'b', indexes: [{ name: 'h', factory: 'HNSW32', metric: 'ip', efSearch: 1e6 }] }, 'indexes.0.efSearch'],
  ] as const) {
    const parsed = JobSpecSchema.safeParse(spec);
    assert.equal(parsed.success, false, field);
    assert.equal(parsed.error!.issues[0]!.path.join('.'), field);
  }
});

test('submit-time checks against the inputs: factories against the embedding rows, outputs against inputs and other sets', async (t) => {
  const root = tempDir(t);
  const storage = new FsStorage(root);
  embeddingSet(root, 'emb', 2, 500);
  mkdirSync(join(root, 'passages'));
  writeFileSync(join(root, 'passages', 'manifest.json'), JSON.stringify({ format: PASSAGE_FORMAT }));
  const index = (factory: string, extra: Partial<JobSpecInput & { kind: 'index' }> = {}) =>
    parse({ kind: 'index', input: 'emb', output: 'idx', indexes: [{ name: 'x', factory, metric: 'ip' }], ...extra } as JobSpecInput);

  await checkSpecAgainstInputs(index('IVF256,Flat'), storage);
  await assert.rejects(checkSpecAgainstInputs(index('IVF1024,Flat'), storage), (err: { field?: string; message: string }) => {
    assert.equal(err.field, 'indexes.0.factory');
    assert.match(err.message, /IVF1024 needs at least 1024 training rows .* gets 500/);
    return true;
  });
  // A shared quantizer trains on the pooled sample: both shards' rows.
  await checkSpecAgainstInputs(index('IVF1000,Flat', { sharedQuantizer: { sampleRows: 65_536 } }), storage);
  await assert.rejects(checkSpecAgainstInputs(index('IVF1000,Flat', { sharedQuantizer: { sampleRows: 900 } }), storage), /gets 900/);

  await assert.rejects(checkSpecAgainstInputs(index('Flat', { output: 'emb' }), storage), {
    code: 'JOB_INVALID',
    field: 'output',
    message: /output emb is the job's input/,
  });
  embeddingSet(root, 'nested/emb', 1, 500);
  await assert.rejects(
    checkSpecAgainstInputs(parse({ kind: 'index', input: 'nested/emb', output: 'nested', indexes: [] }), storage),
    /output nested holds the job's input \(nested\/emb\)/,
  );
  // An encode job into the passage set's folder would overwrite its manifest; a rerun into its own kind is fine.
  await assert.rejects(
    checkSpecAgainstInputs(parse({ kind: 'encode', input: 'emb', output: 'passages' }), storage),
    /output passages holds a set of another kind .* would overwrite its manifest/,
  );
  await checkSpecAgainstInputs(parse({ kind: 'index', input: 'emb', output: 'nested/emb2', indexes: [] }), storage);
});
