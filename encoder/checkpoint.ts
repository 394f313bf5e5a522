import { isRelativeName } from '../storage/index.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { ArchitectureSchema, createDualEncoder, type Architecture, type DualEncoderModel } from './model/index.js';
import { WordPieceTokenizer } from './tokenizer/index.js';
import { CheckpointError } from './errors.js';
import { parseContract, tempPathFor } from '../common/index.js';

/*
 * A checkpoint is a folder:
 *   model-card.json   architecture, tokenizer, weight layout + checksum, the
 *                     backend it was trained on, training config, dev metrics
 *   weights.bin       float32 little-endian tensors, back to back
 *   vocab.txt         the WordPiece vocabulary, one piece per line (BERT format)
 *   + any extra files the caller adds (the trainer's optimizer state).
 * It is written under a temp name and renamed, so a reader sees a whole
 * checkpoint or the previous one, never half of one.
 */

export const CHECKPOINT_FORMAT = 'sci-cluster/encoder@1';
export const MODEL_CARD_FILE = 'model-card.json';

const TensorSpecSchema = z.strictObject({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() });

/** A file of the checkpoint folder: a plain relative name, so a card cannot point the loader elsewhere. */
const fileInFolder = z.string().refine(isRelativeName, { message: "expected a file name relative to the checkpoint folder (no '..', not absolute)" });

export const ModelCardSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  createdAt: z.string(),
  architecture: ArchitectureSchema,
  tokenizer: z.strictObject({
    vocab: fileInFolder,
    size: z.number().int().positive(),
    lowercase: z.boolean(),
    /** Words Porter-stemmed before WordPiece (absent in older checkpoints: false). */
    stem: z.boolean().default(false),
  }),
  weights: z.strictObject({
    file: fileInFolder,
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    tensors: z.array(TensorSpecSchema),
  }),
  /** Initialisation seed of the weights. */
  seed: z.number().int(),
  backend: z.strictObject({ name: z.string(), package: z.string(), threads: z.number().int().positive() }),
  /** Training configuration (as validated), null for an untrained model. */
  training: z.unknown().nullable(),
  /** Optimizer steps taken. */
  step: z.number().int().nonnegative(),
  /** Dev metrics at this step, when evaluated. */
  devMetrics: z.record(z.string(), z.number()).nullable(),
});
export type ModelCard = z.infer<typeof ModelCardSchema>;

export interface CheckpointContents {
  architecture: Architecture;
  seed: number;
  model: DualEncoderModel;
  tokenizer: WordPieceTokenizer;
  lowercase: boolean;
  backend: ModelCard['backend'];
  training: unknown;
  step: number;
  devMetrics: Record<string, number> | null;
  /** Extra files: name → bytes. */
  extraFiles?: Record<string, Uint8Array | string>;
}

/** Serialises named float32 tensors back to back; returns the bytes and their layout. */
export function packTensors(tensors: ReadonlyMap<string, Tf.Tensor>): { bytes: Buffer; specs: Array<z.infer<typeof TensorSpecSchema>> } {
  const specs: Array<z.infer<typeof TensorSpecSchema>> = [];
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const data = tensor.dataSync() as Float32Array;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    specs.push({ name, shape: [...tensor.shape], offset });
    parts.push(Buffer.from(buf));
    offset += buf.byteLength;
  }
  return { bytes: Buffer.concat(parts), specs };
}

/** The float32 data of each spec, copied out of `bytes`. */
export function unpackTensors(
  bytes: Buffer,
  specs: ReadonlyArray<z.infer<typeof TensorSpecSchema>>,
  file: string,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const end = spec.offset + count * 4;
    if (end > bytes.byteLength) throw new CheckpointError(`tensor ${spec.name} runs past the end of the file (${end} > ${bytes.byteLength} bytes)`, { file });
    const data = new Float32Array(count);
    Buffer.from(data.buffer).set(bytes.subarray(spec.offset, end));
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

export function saveCheckpoint(dir: string, contents: CheckpointContents): ModelCard {
  const temp = tempPathFor(dir);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const { bytes, specs } = packTensors(contents.model.weights.entries);
  writeFileSync(join(temp, 'weights.bin'), bytes);
  writeFileSync(join(temp, 'vocab.txt'), `${contents.tokenizer.tokens.join('\n')}\n`);
  const card: ModelCard = {
    format: CHECKPOINT_FORMAT,
    createdAt: new Date().toISOString(),
    architecture: contents.architecture,
    tokenizer: { vocab: 'vocab.txt', size: contents.tokenizer.size, lowercase: contents.lowercase, stem: contents.tokenizer.stem },
    weights: { file: 'weights.bin', sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength, tensors: specs },
    seed: contents.seed,
    backend: contents.backend,
    training: contents.training ?? null,
    step: contents.step,
    devMetrics: contents.devMetrics,
  };
  for (const [name, data] of Object.entries(contents.extraFiles ?? {})) writeFileSync(join(temp, name), data);
  writeFileSync(join(temp, MODEL_CARD_FILE), `${JSON.stringify(card, null, 2)}\n`);
  replaceDir(temp, dir);
  return card;
}

/** Moves `from` to `to`, replacing what was there; `to` is never missing for longer than one rename. */
export function replaceDir(from: string, to: string): void {
  const old = tempPathFor(to, 'old');
  rmSync(old, { recursive: true, force: true });
  if (existsSync(to)) renameSync(to, old);
  renameSync(from, to);
  rmSync(old, { recursive: true, force: true });
}

export function readModelCard(dir: string): ModelCard {
  const file = join(dir, MODEL_CARD_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`cannot read the model card: ${(err as Error).message}`, { file, cause: err });
  }
  return parseContract(ModelCardSchema, raw, { what: 'invalid model card', error: CheckpointError, file });
}

export interface LoadedCheckpoint {
  card: ModelCard;
  model: DualEncoderModel;
  tokenizer: WordPieceTokenizer;
}

/** A checkpoint's card, tokenizer and float32 weights by name, checked against the card (no model built: ONNX export and inference use these). */
export interface CheckpointTensors {
  card: ModelCard;
  tokenizer: WordPieceTokenizer;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  weightsFile: string;
}

export function readCheckpointTensors(dir: string): CheckpointTensors {
  const card = readModelCard(dir);
  const weightsFile = join(dir, card.weights.file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(weightsFile);
  } catch (err) {
    throw new CheckpointError(`cannot read the weights: ${(err as Error).message}`, { file: weightsFile, cause: err });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== card.weights.sha256)
    throw new CheckpointError(`weights checksum ${sha} does not match the model card's ${card.weights.sha256}`, { file: weightsFile });
  const tokenizer = WordPieceTokenizer.fromVocabFile(join(dir, card.tokenizer.vocab), { lowercase: card.tokenizer.lowercase, stem: card.tokenizer.stem });
  if (tokenizer.size !== card.architecture.vocabSize) {
    throw new CheckpointError(`vocabulary has ${tokenizer.size} pieces, the model expects ${card.architecture.vocabSize}`, {
      file: join(dir, card.tokenizer.vocab),
    });
  }
  return { card, tokenizer, tensors: unpackTensors(bytes, card.weights.tensors, weightsFile), weightsFile };
}

/** Reads a checkpoint folder: the weights are checked against the card's checksum and shapes. */
export function loadCheckpoint(tf: typeof Tf, dir: string): LoadedCheckpoint {
  const { card, tokenizer, tensors, weightsFile } = readCheckpointTensors(dir);
  const model = createDualEncoder(tf, card.architecture, card.seed);
  try {
    assignWeights(tf, model, tensors, weightsFile);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { card, model, tokenizer };
}

/** Sets every weight of `model` from `tensors`; names and shapes must match exactly. */
export function assignWeights(
  tf: typeof Tf,
  model: DualEncoderModel,
  tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>,
  file: string,
): void {
  for (const [name, variable] of model.weights.entries) {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`weight ${name} is missing`, { file, field: name });
    if (t.shape.join('x') !== variable.shape.join('x'))
      throw new CheckpointError(`weight ${name} has shape [${t.shape}], the model expects [${variable.shape}]`, { file, field: name });
    const value = tf.tensor(t.data, t.shape);
    variable.assign(value);
    value.dispose();
  }
  for (const name of tensors.keys())
    if (!model.weights.entries.has(name)) throw new CheckpointError(`weight ${name} is not part of a ${model.architecture.kind} model`, { file, field: name });
}
