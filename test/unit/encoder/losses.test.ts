import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTfBackend } from '../../../encoder/backend.js';
import { FastDualEncoder } from '../../../encoder/model/fast-tower.js';
import { infoNce, positiveDistance, tripletHinge } from '../../../encoder/losses/contrastive.js';
import { finiteDifferences } from '../../support/gradients.js';

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};

test('loss values equal hand-computed ones', async () => {
  const { tf } = await loadTfBackend();
  const qv = [unit([1, 0]), unit([1, 1])];
  const dv = [unit([1, 0.5]), unit([0, 1])];
  const nv = [unit([-1, 0.2])];
  const cos = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]!;
  const tau = 0.5;
  // InfoNCE with one extra negative: row i's candidates are d0, d1, n0.
  let expected = 0;
  for (let i = 0; i < 2; i++) {
    const logits = [...dv, ...nv].map((d) => cos(qv[i]!, d) / tau);
    const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
    expected += lse - logits[i]!;
  }
  expected /= 2;
  const q = tf.tensor2d(qv);
  const d = tf.tensor2d(dv);
  const n = tf.tensor2d(nv);
  assert.ok(Math.abs((await infoNce(tf, q, d, tau, n).data())[0]! - expected) < 1e-5);
  const distance = (0.6 * (1 - cos(qv[0]!, dv[0]!) + (1 - cos(qv[1]!, dv[1]!)))) / 2;
  assert.ok(Math.abs((await positiveDistance(tf, q, d, 0.6).data())[0]! - distance) < 1e-6);
  const margin = 0.3;
  const hinge = (Math.max(0, margin - cos(qv[0]!, dv[0]!) + cos(qv[0]!, dv[1]!)) + Math.max(0, margin - cos(qv[1]!, dv[1]!) + cos(qv[1]!, dv[0]!))) / 2;
  assert.ok(Math.abs((await tripletHinge(tf, q, d, margin).data())[0]! - hinge) < 1e-6);
});

test('gradients through the tower (custom embedding gradient included) match finite differences', async () => {
  const { tf } = await loadTfBackend();
  const model = new FastDualEncoder(tf, { kind: 'fast', vocabSize: 12, embeddingDim: 6, dim: 4, towers: 'separate', maxLength: 8, pooling: 'mean' }, 3);
  const qIds = tf.tensor2d(
    [
      [1, 2, 3, 0],
      [4, 5, 0, 0],
      [6, 7, 8, 9],
    ],
    undefined,
    'int32',
  );
  const qMask = tf.tensor2d(
    [
      [1, 1, 1, 0],
      [1, 1, 0, 0],
      [1, 1, 1, 1],
    ],
    undefined,
    'int32',
  );
  const dIds = tf.tensor2d(
    [
      [2, 3, 10, 0],
      [5, 11, 0, 0],
      [7, 8, 1, 0],
    ],
    undefined,
    'int32',
  );
  const dMask = tf.tensor2d(
    [
      [1, 1, 1, 0],
      [1, 1, 0, 0],
      [1, 1, 1, 0],
    ],
    undefined,
    'int32',
  );
  const loss = () => {
    const q = model.encode(qIds, qMask, 'query');
    const d = model.encode(dIds, dMask, 'item');
    return infoNce(tf, q, d, 0.2).add(positiveDistance(tf, q, d, 0.6)) as ReturnType<typeof infoNce>;
  };
  const { grads } = tf.variableGrads(loss, model.variables);
  let checked = 0;
  for (const variable of [model.variables[0]!, model.variables[1]!, model.variables[3]!]) {
    const analytic = (await grads[variable.name]!.data()) as Float32Array;
    for (const { index, numeric, analytic: expected } of finiteDifferences(tf, variable, analytic, loss, 4)) {
      assert.ok(Math.abs(numeric - expected) <= 0.05 * Math.abs(expected) + 1e-3, `${variable.name}[${index}]: numeric ${numeric} vs analytic ${expected}`);
      checked += 1;
    }
  }
  assert.equal(checked, 12);
  // Token 4 never occurs in the item batch: its row of the item embeddings gets no gradient.
  const itemEmbeddingGrad = (await grads[model.variables[3]!.name]!.data()) as Float32Array;
  assert.ok(
    itemEmbeddingGrad.slice(4 * 6, 5 * 6).every((g) => g === 0),
    'token 4 is absent from the item batch',
  );
  model.dispose();
});

test('the composite objective: parts, weights and the SymmAligner variants', async () => {
  const { tf } = await loadTfBackend();
  const { trainingLoss } = await import('../../../encoder/losses/composite.js');
  const t = (rows: number[][]) => tf.tensor2d(rows.map(unit));
  const e = {
    queryByQueryTower: t([
      [1, 0],
      [0, 1],
    ]),
    positiveByItemTower: t([
      [1, 0.2],
      [0.1, 1],
    ]),
    negativesByItemTower: null,
    queryByItemTower: t([
      [0.8, 0.6],
      [0.6, 0.8],
    ]),
    positiveByQueryTower: t([
      [1, 0],
      [0, 1],
    ]),
  };
  const base = { base: 'infonce' as const, temperature: 0.1, margin: 0.2, distanceWeight: 0 };
  const plain = trainingLoss(tf, e, { ...base, symmAligner: null });
  assert.deepEqual(Object.keys(plain.parts), ['infonce']);
  const withDistance = trainingLoss(tf, e, { ...base, distanceWeight: 0.6, symmAligner: null });
  const expectedDistance = (0.6 * (2 - (unit([1, 0.2])[0]! + unit([0.1, 1])[1]!))) / 2;
  assert.ok(Math.abs(withDistance.parts.distance!.dataSync()[0]! - expectedDistance) < 1e-6);
  assert.ok(Math.abs(withDistance.total.dataSync()[0]! - plain.total.dataSync()[0]! - expectedDistance) < 1e-5);
  // Variant C: λ · [mean(1 − cos(f_q(Q), f_i(Q))) + mean(1 − cos(f_q(D), f_i(D)))].
  const c = trainingLoss(tf, e, { ...base, symmAligner: { variant: 'C', lambda: 0.5 } });
  const viewGap = (1 - 0.8 + (1 - 0.8)) / 2 + (2 - (unit([1, 0.2])[0]! + unit([0.1, 1])[1]!)) / 2;
  assert.ok(Math.abs(c.parts.symmAligner!.dataSync()[0]! - 0.5 * viewGap) < 1e-5);
  // Variant A is the base loss of the swapped towers.
  const a = trainingLoss(tf, e, { ...base, symmAligner: { variant: 'A', lambda: 1 } });
  const { infoNce } = await import('../../../encoder/losses/contrastive.js');
  assert.ok(Math.abs(a.parts.symmAligner!.dataSync()[0]! - infoNce(tf, e.queryByItemTower, e.positiveByQueryTower, 0.1).dataSync()[0]!) < 1e-6);
  assert.throws(() => trainingLoss(tf, { ...e, queryByItemTower: null }, { ...base, symmAligner: { variant: 'B', lambda: 1 } }), /swapped encodings/);
  // Triplet with an extra hard negative close to q₀: only (q₀, n) violates the margin.
  // mean over the 2 × 2 (query, negative) pairs of max(0, 0.2 − cos(q, d⁺) + cos(q, d⁻)).
  const [p1, p2, n] = [unit([1, 0.2]), unit([0.1, 1]), unit([1, 0.1])];
  const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]!;
  const pairs = [
    [[1, 0], p1, p2],
    [[1, 0], p1, n],
    [[0, 1], p2, p1],
    [[0, 1], p2, n],
  ] as const;
  const expectedTriplet = pairs.reduce((sum, [q, pos, neg]) => sum + Math.max(0, 0.2 - dot([...q], pos!) + dot([...q], neg!)), 0) / 4;
  assert.ok(expectedTriplet > 0.05, 'the fixture has an active hinge');
  const triplet = trainingLoss(tf, { ...e, negativesByItemTower: t([[1, 0.1]]) }, { ...base, base: 'triplet', symmAligner: null });
  assert.ok(Math.abs(triplet.parts.triplet!.dataSync()[0]! - expectedTriplet) < 1e-6, `${triplet.parts.triplet!.dataSync()[0]} vs ${expectedTriplet}`);
});
