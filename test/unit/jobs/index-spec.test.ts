import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupShards, JobSpecSchema, shardSampleRows } from '../../../jobs/index.js';
import { stagesOf } from '../../../stages/registry.js';

const index = (spec: Record<string, unknown>) =>
  JobSpecSchema.safeParse({ kind: 'index', input: '/e', output: '/i', indexes: [{ name: 'x', metric: 'ip', ...spec }] });

test('index job specs: dual-view only on IVF factories; serving-nprobe tuning defaults', () => {
  for (const factory of ['IVF256,Flat', 'IVF256,PQ16', 'IVF64,PQ8x4']) assert.ok(index({ factory, dualView: true }).success, factory);
  for (const factory of ['HNSW32,Flat', 'Flat', 'PQ16']) {
    const parsed = index({ factory, dualView: true });
    assert.equal(parsed.success, false, factory);
    assert.equal(parsed.error!.issues[0]!.path.join('.'), 'indexes.0.factory');
    assert.match(parsed.error!.issues[0]!.message, /dual-view index must be IVF/);
  }
  const spec = JobSpecSchema.parse({ kind: 'index', input: '/e', output: '/i', indexes: [] });
  assert.deepEqual(spec.kind === 'index' && spec.nprobeTuning, { overlap: 0.9, queriesPerShard: 256, k: 10, seed: 1 });
  assert.equal(index({ factory: 'IVF64,Flat', nprobe: 0 }).success, false, 'nprobe is positive');
});

test('a shared quantizer adds a sample and a train stage; each shard samples its share of the rows', () => {
  const parse = (extra: Record<string, unknown>) =>
    JobSpecSchema.parse({ kind: 'index', input: '/e', output: '/i', indexes: [{ name: 'ivf', factory: 'IVF64,Flat', metric: 'ip' }], ...extra });
  assert.deepEqual(stagesOf(parse({})), ['index']);
  const shared = parse({ sharedQuantizer: {} });
  assert.deepEqual(shared.kind === 'index' && shared.sharedQuantizer, { sampleRows: 65_536, seed: 1 });
  assert.deepEqual(stagesOf(shared), ['sample', 'train', 'index']);
  // BM25 alone has nothing to train.
  assert.deepEqual(stagesOf(JobSpecSchema.parse({ kind: 'index', input: null, output: '/i', bm25: { passages: '/p' }, sharedQuantizer: {} })), ['index']);
  assert.equal(JobSpecSchema.safeParse({ kind: 'index', input: '/e', output: '/i', sharedQuantizer: { sampleRows: 0 } }).success, false);
  // Shares follow the shard sizes (uniform over the set) and never exceed a shard.
  assert.deepEqual(
    [shardSampleRows(1000, 300, 1000), shardSampleRows(1000, 700, 1000), shardSampleRows(5000, 300, 1000), shardSampleRows(10, 0, 0)],
    [300, 700, 300, 0],
  );
});

test('routed IVF adds a route stage and needs a shared quantizer', () => {
  const parse = (extra: Record<string, unknown>) =>
    JobSpecSchema.parse({ kind: 'index', input: '/e', output: '/i', indexes: [{ name: 'ivf', factory: 'IVF64,Flat', metric: 'ip' }], ...extra });
  assert.deepEqual(stagesOf(parse({ sharedQuantizer: {}, routed: { partitions: 4 } })), ['sample', 'train', 'index', 'route']);
  assert.throws(() => stagesOf(parse({ routed: { partitions: 4 } })), /routed IVF needs sharedQuantizer/);
  for (const partitions of [0, 1025, 1.5])
    assert.equal(JobSpecSchema.safeParse({ kind: 'index', input: '/e', output: '/i', routed: { partitions } }).success, false);
});

test('graph groups add a group stage over an HNSW index; groups are runs of consecutive shards', () => {
  const parse = (indexes: Array<Record<string, unknown>>, extra: Record<string, unknown>) =>
    JobSpecSchema.parse({ kind: 'index', input: '/e', output: '/i', indexes, ...extra });
  const hnsw = { name: 'hnsw', factory: 'HNSW32,Flat', metric: 'ip' };
  assert.deepEqual(stagesOf(parse([hnsw], { graphGroups: { groups: 2 } })), ['index', 'group']);
  assert.deepEqual(
    stagesOf(
      parse([hnsw, { name: 'ivf', factory: 'IVF64,Flat', metric: 'ip' }], { sharedQuantizer: {}, routed: { partitions: 2 }, graphGroups: { groups: 2 } }),
    ),
    ['sample', 'train', 'index', 'route', 'group'],
  );
  assert.throws(() => stagesOf(parse([{ name: 'flat', factory: 'Flat', metric: 'ip' }], { graphGroups: { groups: 2 } })), /graphGroups needs .* an HNSW index/);
  assert.deepEqual(
    [0, 1, 2].map((g) => groupShards([5, 0, 1, 2, 3, 4, 6], g, 3)),
    [
      [0, 1],
      [2, 3],
      [4, 5, 6],
    ],
  );
});
