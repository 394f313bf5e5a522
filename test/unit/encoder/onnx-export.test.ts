import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type * as Tf from '@tensorflow/tfjs';
import {
  EXPORT_CARD_FILE,
  exportCheckpoint,
  loadTfBackend,
  openTextEncoder,
  QUERY_MODEL_FILE,
  readModelCard,
  saveCheckpoint,
  type ExportCard,
} from '../../../encoder/index.js';
import { readCheckpointTensors } from '../../../encoder/checkpoint.js';
import { readExportedWeights } from '../../../encoder/onnx/index.js';
import { createDualEncoder, type Architecture } from '../../../encoder/model/index.js';
import { VocabBuilder, WordPieceTokenizer } from '../../../encoder/tokenizer/index.js';
import { wordnetDictDir } from '../../../shards/index.js';
import { tempDir } from '../../support/paths.js';

/*
 * Parity of our ONNX export: the graphs tower-graph.ts writes compute what
 * the tfjs towers compute, on 1,000 WordNet glosses, both views of separate
 * towers whose weights differ, for both architectures (IDF pooling on one).
 */

const glosses = readFileSync(join(wordnetDictDir(), 'data.verb'), 'utf8')
  .split('\n')
  .filter((line) => /^\d/.test(line) && line.includes('| '))
  .slice(0, 1000)
  .map((line) => line.split('| ')[1]!.trim());

function vocabulary(): WordPieceTokenizer {
  const builder = new VocabBuilder({ stem: true });
  for (const text of glosses) builder.addText(text);
  return new WordPieceTokenizer(builder.build({ size: 3000 }), { stem: true });
}

const architectures = (vocabSize: number): Architecture[] => [
  { kind: 'fast', vocabSize, embeddingDim: 64, dim: 32, towers: 'separate', maxLength: 64, pooling: 'idf' },
  { kind: 'transformer', vocabSize, width: 128, layers: 2, heads: 4, ffnWidth: 256, dim: 64, towers: 'separate', maxLength: 64, pooling: 'mean' },
];

/** Moves every item-tower weight (and the IDF table) off its copy, so the two views and their graphs differ. */
function perturbItemTower(tf: typeof Tf, weights: ReadonlyMap<string, Tf.Variable>): void {
  let seed = 11;
  for (const [name, variable] of weights) {
    if (!name.startsWith('item/') && name !== 'idf') continue;
    const noise = tf.randomNormal(variable.shape, 0, name === 'idf' ? 0.5 : 0.05, 'float32', seed++);
    variable.assign(name === 'idf' ? variable.add(noise).abs() : variable.add(noise));
    noise.dispose();
  }
}

test('ONNX export of both architectures: ORT vectors within 1e-5 of tfjs on 1,000 WordNet glosses, both views; the card names its source', async (t) => {
  assert.equal(glosses.length, 1000);
  const dir = tempDir(t, 'sci-onnx-export-');
  const { tf, name, package: pkg, threads } = await loadTfBackend();
  const tokenizer = vocabulary();
  for (const architecture of architectures(tokenizer.size)) {
    const checkpoint = join(dir, architecture.kind);
    const model = createDualEncoder(tf, architecture, 5);
    perturbItemTower(tf, model.weights.entries);
    saveCheckpoint(checkpoint, {
      architecture,
      seed: 5,
      model,
      tokenizer,
      lowercase: true,
      backend: { name, package: pkg, threads },
      training: null,
      step: 42,
      devMetrics: null,
    });
    model.dispose();
    const exported = join(dir, `${architecture.kind}-onnx`);
    exportCheckpoint(checkpoint, exported);

    const card = JSON.parse(readFileSync(join(exported, EXPORT_CARD_FILE), 'utf8')) as ExportCard;
    assert.equal(card.source.step, 42);
    assert.equal(card.source.weightsSha256, readModelCard(checkpoint).weights.sha256);
    assert.equal(card.source.checkpoint, checkpoint);
    for (const [file, facts] of Object.entries(card.files))
      assert.equal(
        createHash('sha256')
          .update(readFileSync(join(exported, file)))
          .digest('hex'),
        facts.sha256,
        file,
      );
    assert.ok(card.files[QUERY_MODEL_FILE], 'separate towers: a query graph of its own');

    const onTfjs = await openTextEncoder(checkpoint, { engine: 'tfjs' });
    const fromFolder = await openTextEncoder(exported);
    const fromCheckpoint = await openTextEncoder(checkpoint, { engine: 'onnx' });
    assert.equal(fromFolder.description['sci.encoder.engine'], 'onnxruntime');
    assert.match(onTfjs.description['sci.encoder.engine']!, /^tfjs-/);
    assert.equal(fromFolder.towers, 'separate');
    for (const view of ['query', 'item'] as const) {
      const expected = await onTfjs.encode(glosses, view);
      const got = await fromFolder.encode(glosses, view);
      const inMemory = await fromCheckpoint.encode(glosses, view);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
      assert.ok(worst <= 1e-5, `${architecture.kind} ${view}: largest difference ${worst}`);
      assert.deepEqual(inMemory, got, 'a checkpoint opened on ONNX runs the same graphs as its export');
    }
    // The views really differ (else the test could not tell the towers apart).
    const q = await fromFolder.encode(glosses.slice(0, 1), 'query');
    const i = await fromFolder.encode(glosses.slice(0, 1), 'item');
    assert.ok(q.some((v, j) => Math.abs(v - i[j]!) > 1e-3));
    for (const e of [onTfjs, fromFolder, fromCheckpoint]) e.dispose();

    // --init-from the export: the same architecture and every weight, bit for bit.
    const back = readExportedWeights(exported);
    assert.deepEqual(back.architecture, architecture);
    const original = readCheckpointTensors(checkpoint).tensors;
    assert.deepEqual([...back.tensors.keys()].sort(), [...original.keys()].sort());
    for (const [weight, value] of original) assert.deepEqual(back.tensors.get(weight), value, weight);
  }
});
