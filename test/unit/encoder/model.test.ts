import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { loadTfBackend } from '../../../encoder/backend.js';
import { TransformerDualEncoder, createDualEncoder, type Architecture } from '../../../encoder/model/index.js';
import { loadCheckpoint, saveCheckpoint, readModelCard } from '../../../encoder/checkpoint.js';
import { openTextEncoder, ModelTextEncoder, CheckpointError } from '../../../encoder/index.js';
import { SPECIAL_TOKENS, WordPieceTokenizer } from '../../../encoder/tokenizer/index.js';
import { infoNce, positiveDistance } from '../../../encoder/losses/contrastive.js';
import { finiteDifferences } from '../../support/gradients.js';

const vocab = [...SPECIAL_TOKENS, 'the', 'cat', 'sat', 'on', 'mat', 'dog', 'ran', 'far', 'a', 'big', 'red', 'ball', '##s'];
const tokenizer = new WordPieceTokenizer(vocab);
const tiny = (kind: 'fast' | 'transformer', pooling: 'mean' | 'idf' = 'mean'): Architecture =>
  kind === 'fast'
    ? { kind, vocabSize: vocab.length, embeddingDim: 8, dim: 6, towers: 'separate', maxLength: 12, pooling }
    : { kind, vocabSize: vocab.length, width: 8, layers: 2, heads: 2, ffnWidth: 16, dim: 6, towers: 'separate', maxLength: 12, pooling };

const descriptionOf = { 'sci.encoder': 'test' };

test('transformer: unit-length output, padding does not change a vector, towers start as identical copies', async () => {
  const { tf } = await loadTfBackend();
  const model = createDualEncoder(tf, tiny('transformer'), 7);
  const encoder = new ModelTextEncoder(tf, model, tokenizer, descriptionOf, 4);
  const alone = await encoder.encode(['the cat sat'], 'query');
  // Same text in a batch with a longer one: padded to 7 tokens instead of 5.
  const padded = (await encoder.encode(['the cat sat', 'a big red ball ran far'], 'query')).subarray(0, 6);
  for (let i = 0; i < 6; i++) assert.ok(Math.abs(alone[i]! - padded[i]!) < 1e-5, `dimension ${i}: ${alone[i]} vs ${padded[i]}`);
  assert.ok(Math.abs(Math.hypot(...alone) - 1) < 1e-5);
  const item = await encoder.encode(['the cat sat'], 'item');
  assert.deepEqual([...item], [...alone], 'an untrained pair of towers maps a text to the same vector');
  assert.throws(
    () => model.encode(tf.zeros([1, 13], 'int32') as Tf.Tensor2D, tf.ones([1, 13], 'int32') as Tf.Tensor2D, 'query'),
    /exceeds the model's maxLength 12/,
  );
  model.dispose();
});

test('transformer gradients match finite differences (attention, LayerNorm, GELU, custom embedding gradient)', async () => {
  const { tf } = await loadTfBackend();
  const model = new TransformerDualEncoder(tf, tiny('transformer', 'idf') as Extract<Architecture, { kind: 'transformer' }>, 11);
  model.weights.get('idf').assign(tf.randomUniform([vocab.length], 0.5, 3, 'float32', 4));
  assert.ok(!model.weights.variables.includes(model.weights.get('idf')), 'the IDF weights are not trained');
  // Perturb the item tower so the towers differ (they start as copies).
  for (const [name, v] of model.weights.entries) if (name.startsWith('item/')) v.assign(v.add(tf.randomNormal(v.shape, 0, 0.05, 'float32', 5)));
  const qIds = tf.tensor2d(
    [
      [2, 5, 6, 3, 0],
      [2, 10, 11, 12, 3],
    ],
    undefined,
    'int32',
  ) as Tf.Tensor2D;
  const qMask = tf.tensor2d(
    [
      [1, 1, 1, 1, 0],
      [1, 1, 1, 1, 1],
    ],
    undefined,
    'int32',
  ) as Tf.Tensor2D;
  const dIds = tf.tensor2d(
    [
      [2, 6, 7, 8, 3],
      [2, 14, 16, 3, 0],
    ],
    undefined,
    'int32',
  ) as Tf.Tensor2D;
  const dMask = tf.tensor2d(
    [
      [1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0],
    ],
    undefined,
    'int32',
  ) as Tf.Tensor2D;
  const loss = () => {
    const q = model.encode(qIds, qMask, 'query');
    const d = model.encode(dIds, dMask, 'item');
    return infoNce(tf, q, d, 0.1).add(positiveDistance(tf, q, d, 0.6)) as Tf.Scalar;
  };
  const { grads } = tf.variableGrads(loss, model.weights.variables);
  const names = ['query/embeddings', 'query/layer0/attn/q/kernel', 'query/layer1/ln2/gamma', 'item/layer0/ffn/in/kernel', 'item/proj/kernel'];
  for (const name of names) {
    const variable = model.weights.get(name);
    const analytic = grads[variable.name]!.dataSync() as Float32Array;
    for (const { index, numeric, analytic: expected } of finiteDifferences(tf, variable, analytic, loss, 2)) {
      assert.ok(Math.abs(numeric - expected) <= 0.05 * Math.abs(expected) + 2e-3, `${name}[${index}]: numeric ${numeric} vs analytic ${expected}`);
    }
  }
  model.dispose();
});

test('checkpoint: save and load give identical encodings; a damaged checkpoint is refused with the file named', async (t) => {
  const { tf, name, package: pkg, threads } = await loadTfBackend();
  const dir = mkdtempSync(join(tmpdir(), 'sci-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const kind of ['fast', 'transformer'] as const) {
    const architecture = tiny(kind, kind === 'fast' ? 'idf' : 'mean');
    const model = createDualEncoder(tf, architecture, 3);
    for (const v of model.weights.variables) v.assign(v.add(tf.randomNormal(v.shape, 0, 0.05, 'float32', 9)));
    const path = join(dir, kind);
    saveCheckpoint(path, {
      architecture,
      seed: 3,
      model,
      tokenizer,
      lowercase: true,
      backend: { name, package: pkg, threads },
      training: { steps: 1 },
      step: 1,
      devMetrics: { 'Recall@10': 0.5 },
    });
    const texts = ['the cat sat on the mat', 'dogs ran far'];
    const before = new ModelTextEncoder(tf, model, tokenizer, descriptionOf);
    const loaded = await openTextEncoder(path, { engine: 'tfjs' });
    for (const view of ['query', 'item'] as const) assert.deepEqual([...(await loaded.encode(texts, view))], [...(await before.encode(texts, view))]);
    assert.equal(loaded.towers, 'separate');
    const card = readModelCard(path);
    assert.equal(card.architecture.kind, kind);
    assert.equal(card.backend.name, name);
    assert.deepEqual(card.devMetrics, { 'Recall@10': 0.5 });
    assert.equal(readFileSync(join(path, 'vocab.txt'), 'utf8').split('\n')[5], 'the');
    loaded.dispose();
    model.dispose();
  }
  const weights = join(dir, 'fast', 'weights.bin');
  const bytes = readFileSync(weights);
  bytes[10] = bytes[10]! ^ 0xff;
  writeFileSync(weights, bytes);
  assert.throws(
    () => loadCheckpoint(tf, join(dir, 'fast')),
    (err: unknown) => err instanceof CheckpointError && /checksum/.test(err.message) && err.file === weights,
  );
  const cardFile = join(dir, 'transformer', 'model-card.json');
  const card = JSON.parse(readFileSync(cardFile, 'utf8'));
  card.architecture.heads = 3;
  writeFileSync(cardFile, JSON.stringify(card));
  assert.throws(
    () => readModelCard(join(dir, 'transformer')),
    (err: unknown) => err instanceof CheckpointError && /architecture.heads: width must be a multiple of heads/.test(err.message),
  );
  await assert.rejects(openTextEncoder(join(dir, 'nothing-here'), { engine: 'tfjs' }), /neither a sci-cluster checkpoint/);
});

/** Writes a tfjs LayersModel in the converter's folder format (model.json + one weight shard). */
async function saveLayersModel(tf: typeof Tf, model: Tf.LayersModel, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

test('an external TensorFlow.js layers model loads from a local folder and encodes both views', async (t) => {
  const { tf } = await loadTfBackend();
  const dir = mkdtempSync(join(tmpdir(), 'sci-external-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // Token outputs [batch, tokens, 5]: the loader pools them (masked mean) and normalises.
  const ids = tf.input({ shape: [null], dtype: 'int32', name: 'input_ids' });
  const hidden = tf.layers
    .dense({ units: 5, activation: 'tanh' })
    .apply(tf.layers.embedding({ inputDim: vocab.length, outputDim: 8 }).apply(ids)) as Tf.SymbolicTensor;
  const model = tf.model({ inputs: ids, outputs: hidden });
  await saveLayersModel(tf, model, dir);
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n'));
  writeFileSync(join(dir, 'sci-encoder.json'), JSON.stringify({ pooling: 'mean', maxLength: 16, queryPrefix: 'a ' }));
  const encoder = await openTextEncoder(dir, { engine: 'tfjs' });
  assert.equal(encoder.dim, 5);
  assert.equal(encoder.towers, 'shared');
  const texts = ['the cat sat', 'big red balls'];
  const got = await encoder.encode(texts, 'item');
  // By hand: run the model on each text alone, mean over its tokens, normalise.
  texts.forEach((text, row) => {
    const e = tokenizer.encode(text, 16);
    const out = (model.predict(tf.tensor2d(e.ids.subarray(0, e.length), [1, e.length], 'int32')) as Tf.Tensor).dataSync();
    const mean = Array.from({ length: 5 }, (_, j) => Array.from({ length: e.length }, (_, tkn) => out[tkn * 5 + j]!).reduce((a, b) => a + b, 0) / e.length);
    const norm = Math.hypot(...mean);
    mean.forEach((v, j) => assert.ok(Math.abs(got[row * 5 + j]! - v / norm) < 1e-5, `text ${row} dim ${j}`));
  });
  // The query prefix makes the query view differ.
  assert.notDeepEqual([...(await encoder.encode(['the cat'], 'query'))], [...(await encoder.encode(['the cat'], 'item'))]);
  encoder.dispose();
  rmSync(join(dir, 'vocab.txt'));
  await assert.rejects(openTextEncoder(dir, { engine: 'tfjs' }), (err: unknown) => err instanceof CheckpointError && /no vocab.txt/.test(err.message));
});

test('an external TensorFlow.js graph model (converter format) loads and pools its token outputs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sci-graph-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A graph of one lookup: out = GatherV2(emb, input_ids, axis 0) → [batch, tokens, 4].
  const dims = (...d: number[]) => ({ dim: d.map((size) => ({ size: String(size) })) });
  const modelJson = {
    format: 'graph-model',
    generatedBy: 'test',
    convertedBy: 'hand',
    modelTopology: {
      node: [
        { name: 'input_ids', op: 'Placeholder', attr: { dtype: { type: 'DT_INT32' }, shape: { shape: dims(-1, -1) } } },
        { name: 'emb', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims(vocab.length, 4) } } } },
        { name: 'axis', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: {} } } } },
        {
          name: 'out',
          op: 'GatherV2',
          input: ['emb', 'input_ids', 'axis'],
          attr: { Tparams: { type: 'DT_FLOAT' }, Tindices: { type: 'DT_INT32' }, Taxis: { type: 'DT_INT32' }, batch_dims: { i: '0' } },
        },
      ],
      library: {},
      versions: {},
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'emb', shape: [vocab.length, 4], dtype: 'float32' },
          { name: 'axis', shape: [], dtype: 'int32' },
        ],
      },
    ],
  };
  const emb = Float32Array.from({ length: vocab.length * 4 }, (_, i) => Math.sin(i + 1));
  writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.concat([Buffer.from(emb.buffer), Buffer.from(new Int32Array([0]).buffer)]));
  writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(join(dir, 'vocab.txt'), vocab.join('\n'));
  const encoder = await openTextEncoder(dir, { engine: 'tfjs' });
  assert.equal(encoder.dim, 4);
  const text = 'the big cat';
  const e = tokenizer.encode(text, 128);
  const mean = [0, 1, 2, 3].map((j) => Array.from(e.ids.subarray(0, e.length)).reduce((s, id) => s + emb[id * 4 + j]!, 0) / e.length);
  const norm = Math.hypot(...mean);
  const got = await encoder.encode([text], 'query');
  mean.forEach((v, j) => assert.ok(Math.abs(got[j]! - v / norm) < 1e-5, `dim ${j}: ${got[j]} vs ${v / norm}`));
  encoder.dispose();
});
