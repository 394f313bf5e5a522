import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CheckpointError, EncoderEngineError, openTextEncoder } from '../../../encoder/index.js';
import { TokenizerError, WordPieceTokenizer, wordPieceFromTokenizerJson } from '../../../encoder/tokenizer/index.js';
import { REPO_ROOT, tempDir } from '../../support/paths.js';

/*
 * Our ONNX path against the reference implementation: the fixture
 * (scripts/make-onnx-fixture.py, PyTorch) is a small BERT exported by
 * torch.onnx.export under Hugging Face's names, with token ids and
 * embeddings PyTorch computed for 200 WordNet passages and 200 queries.
 * No torch at test time.
 */

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'onnx-bert');

interface Reference {
  maxLength: number;
  texts: { passages: string[]; queries: string[] };
  ids: { passages: number[][]; queries: number[][] };
  layout: Array<{ texts: 'passages' | 'queries'; pooling: 'mean' | 'cls'; rows: number; dim: number }>;
}

const reference = JSON.parse(readFileSync(join(FIXTURE, 'reference.json'), 'utf8')) as Reference;
const referenceBytes = readFileSync(join(FIXTURE, 'reference.f32'));
const referenceVectors = new Float32Array(referenceBytes.buffer, referenceBytes.byteOffset, referenceBytes.byteLength / 4);

function referenceOf(texts: 'passages' | 'queries', pooling: 'mean' | 'cls'): Float32Array {
  let offset = 0;
  for (const part of reference.layout) {
    const size = part.rows * part.dim;
    if (part.texts === texts && part.pooling === pooling) return referenceVectors.subarray(offset, offset + size);
    offset += size;
  }
  throw new Error(`no reference for ${texts} / ${pooling}`);
}

/** The fixture folder with a sci-encoder.json of our choosing (and without tokenizer.json when `vocabOnly`). */
function fixtureWith(dir: string, config: Record<string, unknown>, options: { vocabOnly?: boolean } = {}): string {
  const folder = join(dir, `model-${Object.values(config).join('-')}${options.vocabOnly ? '-vocab' : ''}`);
  cpSync(FIXTURE, folder, { recursive: true });
  writeFileSync(join(folder, 'sci-encoder.json'), JSON.stringify({ maxLength: reference.maxLength, ...config }));
  if (options.vocabOnly) rmSync(join(folder, 'tokenizer.json'));
  return folder;
}

test('our WordPiece ids equal the reference tokenizer’s, from vocab.txt and from tokenizer.json', () => {
  const fromVocab = WordPieceTokenizer.fromVocabFile(join(FIXTURE, 'vocab.txt'));
  const fromJson = wordPieceFromTokenizerJson(join(FIXTURE, 'tokenizer.json'));
  let compared = 0;
  for (const kind of ['passages', 'queries'] as const) {
    reference.texts[kind].forEach((text, i) => {
      const expected = reference.ids[kind][i]!;
      for (const tokenizer of [fromVocab, fromJson]) {
        const e = tokenizer.encode(text, reference.maxLength);
        assert.deepEqual([...e.ids.subarray(0, e.length)], expected, `${kind} ${i}: ${text}`);
      }
      compared += 1;
    });
  }
  assert.equal(compared, 400);
  // The fixture's vocabulary splits words into pieces and has unknown words: the comparison exercises both.
  const all = reference.ids.passages.flat();
  assert.ok(
    all.some((id) => fromVocab.tokens[id]!.startsWith('##')),
    'continuation pieces occur',
  );
});

test('ONNX Runtime on the exported BERT matches PyTorch within 1e-4, mean and CLS pooling, both tokenizer files', async (t) => {
  const dir = tempDir(t, 'sci-onnx-ref-');
  for (const pooling of ['mean', 'cls'] as const) {
    for (const vocabOnly of [false, true]) {
      const encoder = await openTextEncoder(fixtureWith(dir, { pooling, batchSize: 64 }, { vocabOnly }));
      assert.equal(encoder.description['sci.encoder.engine'], 'onnxruntime');
      assert.equal(encoder.description['sci.encoder.provider'], 'cpu');
      // ONNX Runtime's telemetry is off (encoder/onnx/runtime.ts): it leaves no /tmp/mat-debug-<pid>.log behind.
      assert.equal(existsSync(`/tmp/mat-debug-${process.pid}.log`), false);
      assert.equal(encoder.dim, 64);
      for (const kind of ['passages', 'queries'] as const) {
        const got = await encoder.encode(reference.texts[kind], kind === 'queries' ? 'query' : 'item');
        const expected = referenceOf(kind, pooling);
        assert.equal(got.length, expected.length);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
        assert.ok(worst <= 1e-4, `${pooling} ${kind} (${vocabOnly ? 'vocab.txt' : 'tokenizer.json'}): largest difference ${worst}`);
      }
      encoder.dispose();
    }
  }
});

test('a folder that cannot be run says why: tfjs engine, unknown input, other tokenizer types, no tokenizer', async (t) => {
  const dir = tempDir(t, 'sci-onnx-bad-');
  const folder = fixtureWith(dir, { pooling: 'mean' });
  await assert.rejects(
    openTextEncoder(folder, { engine: 'tfjs' }),
    (err: unknown) => err instanceof EncoderEngineError && /onnx engine only/.test(err.message),
  );
  const renamed = fixtureWith(dir, { pooling: 'cls', inputs: { ids: 'input_ids', mask: 'attention_mask', typeIds: 'segment_ids' } });
  await assert.rejects(openTextEncoder(renamed), (err: unknown) => err instanceof EncoderEngineError && /input token_type_ids/.test(err.message));
  const bpe = fixtureWith(dir, { pooling: 'none' });
  const json = JSON.parse(readFileSync(join(bpe, 'tokenizer.json'), 'utf8')) as { model: { type: string } };
  json.model.type = 'BPE';
  writeFileSync(join(bpe, 'tokenizer.json'), JSON.stringify(json));
  await assert.rejects(
    openTextEncoder(bpe),
    (err: unknown) =>
      err instanceof TokenizerError && /BPE is not supported: supported is WordPiece/.test(err.message) && (err as TokenizerError).field === 'model.type',
  );
  const bare = fixtureWith(dir, { pooling: 'mean', normalize: true }, { vocabOnly: true });
  rmSync(join(bare, 'vocab.txt'));
  await assert.rejects(openTextEncoder(bare), (err: unknown) => err instanceof CheckpointError && /no tokenizer: supported is WordPiece/.test(err.message));
  // Pooling none on token outputs [batch, tokens, dim] cannot give one vector per text.
  const unpooled = await openTextEncoder(fixtureWith(dir, { pooling: 'none', normalize: false })).catch((err: unknown) => err);
  assert.ok(unpooled instanceof EncoderEngineError && /pooling is none/.test(unpooled.message), String(unpooled));
});

test('tokenizer.json normalisation as Hugging Face does it: lowercase and strip_accents apart, Sequence steps', (t) => {
  const dir = tempDir(t, 'sci-tokenizer-json-');
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'café', 'cafe', 'Café', 'Cafe'];
  const pieces = (normalizer: unknown) => {
    const file = join(dir, 'tokenizer.json');
    writeFileSync(file, JSON.stringify({ normalizer, model: { type: 'WordPiece', vocab: Object.fromEntries(vocab.map((v, i) => [v, i])) } }));
    return wordPieceFromTokenizerJson(file).tokenize('Café');
  };
  assert.deepEqual(pieces({ type: 'BertNormalizer', lowercase: true, strip_accents: null }), ['cafe'], 'uncased BERT strips accents');
  assert.deepEqual(pieces({ type: 'BertNormalizer', lowercase: true, strip_accents: false }), ['café']);
  assert.deepEqual(pieces({ type: 'BertNormalizer', lowercase: false, strip_accents: true }), ['Cafe']);
  assert.deepEqual(pieces({ type: 'BertNormalizer', lowercase: false }), ['Café'], 'cased BERT keeps case and accents');
  assert.deepEqual(pieces({ type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }] }), ['café']);
  assert.deepEqual(pieces({ type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] }), ['cafe']);
  assert.deepEqual(pieces(null), ['Café']);
});
