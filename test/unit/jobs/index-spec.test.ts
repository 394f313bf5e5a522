import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobSpecSchema } from '../../../jobs/index.js';

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
