import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkRelativeName } from '../../storage/index.js';
import { CheckpointError } from '../errors.js';
import { EXTERNAL_CONFIG_FILE, readExternalConfig } from '../external-model.js';
import { SUPPORTED_TOKENIZERS, WordPieceTokenizer, wordPieceFromTokenizerJson } from '../tokenizer/index.js';
import { OnnxTextEncoder } from './onnx-encoder.js';
import type { SessionOptions } from './runtime.js';

/*
 * An encoder exported to ONNX, as `optimum-cli export onnx` leaves it (or as
 * `sci model export` writes ours): `model.onnx` taking input_ids /
 * attention_mask / token_type_ids, a WordPiece vocabulary (`vocab.txt` or
 * `tokenizer.json`), and an optional `sci-encoder.json` for pooling,
 * normalisation, prefixes (e5's "query: " / "passage: "), input and output
 * names, and a second graph for the query view.
 */

export const ONNX_MODEL_FILE = 'model.onnx';

export function isOnnxModelDir(dir: string): boolean {
  return existsSync(join(dir, ONNX_MODEL_FILE));
}

/** The folder's tokenizer: tokenizer.json (its normalizer says whether it lowercases), else vocab.txt with sci-encoder.json's lowercase. */
export function folderTokenizer(dir: string, options: { lowercase: boolean; stem: boolean }): WordPieceTokenizer {
  const json = join(dir, 'tokenizer.json');
  if (existsSync(json)) return wordPieceFromTokenizerJson(json);
  const vocab = join(dir, 'vocab.txt');
  if (existsSync(vocab)) return WordPieceTokenizer.fromVocabFile(vocab, options);
  throw new CheckpointError(`the model folder has no tokenizer: supported is ${SUPPORTED_TOKENIZERS}`, { file: dir });
}

export async function openOnnxFolder(dir: string, options: SessionOptions & { batchSize?: number } = {}): Promise<OnnxTextEncoder> {
  const config = readExternalConfig(dir);
  const tokenizer = folderTokenizer(dir, config);
  const queryFile = config.queryModel ? join(dir, checkRelativeName(config.queryModel, `${EXTERNAL_CONFIG_FILE} queryModel`)) : null;
  if (queryFile && !existsSync(queryFile))
    throw new CheckpointError(`the query model ${config.queryModel} named by ${EXTERNAL_CONFIG_FILE} is missing`, { file: queryFile, field: 'queryModel' });
  return OnnxTextEncoder.open(
    { item: join(dir, ONNX_MODEL_FILE), query: queryFile },
    tokenizer,
    { ...config, batchSize: options.batchSize ?? config.batchSize },
    { 'sci.encoder': 'external-onnx', 'sci.encoder.path': dir, 'sci.encoder.pooling': config.pooling },
    options,
  );
}
