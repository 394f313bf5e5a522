import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tempPathFor } from '../../common/index.js';
import { readCheckpointTensors, replaceDir, type CheckpointTensors, type ModelCard } from '../checkpoint.js';
import { CheckpointError } from '../errors.js';
import { EXTERNAL_CONFIG_FILE, type ExternalConfig } from '../external-model.js';
import { OnnxTextEncoder, type OnnxRunConfig } from './onnx-encoder.js';
import { ONNX_MODEL_FILE } from './model-folder.js';
import type { SessionOptions } from './runtime.js';
import { TOWER_INPUTS, TOWER_OUTPUT, towerGraph } from './tower-graph.js';

/*
 * A sci-cluster checkpoint as ONNX: one graph per tower (the item tower as
 * model.onnx, the query tower as query_model.onnx where the towers differ),
 * the vocabulary, a sci-encoder.json that loads the folder like any exported
 * encoder, and export-card.json saying which checkpoint, step and weights
 * (SHA-256) it came from. A checkpoint folder also encodes on ONNX Runtime
 * directly: the same graphs are built in memory when it is opened.
 */

export const QUERY_MODEL_FILE = 'query_model.onnx';
export const EXPORT_CARD_FILE = 'export-card.json';
export const EXPORT_FORMAT = 'sci-cluster/onnx-export@1';

export interface TowerGraphs {
  item: Uint8Array;
  query: Uint8Array | null;
}

export function checkpointGraphs(checkpoint: CheckpointTensors): TowerGraphs {
  const { card, tensors, weightsFile } = checkpoint;
  const weight = (name: string) => {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`weight ${name} is missing`, { file: weightsFile, field: name });
    return t;
  };
  const metadata = { 'sci.weights.sha256': card.weights.sha256, 'sci.step': String(card.step) };
  if (card.architecture.towers === 'shared') return { item: towerGraph(card.architecture, weight, 'shared', metadata), query: null };
  return { item: towerGraph(card.architecture, weight, 'item', metadata), query: towerGraph(card.architecture, weight, 'query', metadata) };
}

/** How our exported graphs are fed and read: they pool and normalise inside. */
export function exportedRunConfig(card: ModelCard, batchSize = 256): OnnxRunConfig {
  return {
    pooling: 'none',
    normalize: false,
    maxLength: card.architecture.maxLength,
    queryPrefix: '',
    itemPrefix: '',
    inputs: { ids: TOWER_INPUTS.ids, mask: TOWER_INPUTS.mask, typeIds: null },
    output: TOWER_OUTPUT,
    batchSize,
  };
}

/** A checkpoint folder encoding on ONNX Runtime, its graphs built in memory. */
export async function openCheckpointOnOnnx(dir: string, options: SessionOptions & { batchSize?: number } = {}): Promise<OnnxTextEncoder> {
  const checkpoint = readCheckpointTensors(dir);
  const { card } = checkpoint;
  const graphs = checkpointGraphs(checkpoint);
  return OnnxTextEncoder.open(
    graphs,
    checkpoint.tokenizer,
    exportedRunConfig(card, options.batchSize),
    { 'sci.encoder': `checkpoint:${card.architecture.kind}`, 'sci.encoder.weights': card.weights.sha256, 'sci.encoder.step': String(card.step) },
    options,
  );
}

export interface ExportCard {
  format: typeof EXPORT_FORMAT;
  createdAt: string;
  source: { checkpoint: string; step: number; weightsSha256: string; architecture: ModelCard['architecture'] };
  files: Record<string, { sha256: string; bytes: number }>;
}

/** Writes the ONNX folder of the checkpoint at `checkpointDir` to `outDir` (a temp folder renamed into place). */
export function exportCheckpoint(checkpointDir: string, outDir: string): ExportCard {
  const checkpoint = readCheckpointTensors(checkpointDir);
  const { card, tokenizer } = checkpoint;
  const graphs = checkpointGraphs(checkpoint);
  const run = exportedRunConfig(card);
  const config: ExternalConfig = {
    ...run,
    lowercase: card.tokenizer.lowercase,
    stem: card.tokenizer.stem,
    queryModel: graphs.query ? QUERY_MODEL_FILE : null,
  };
  const files: Record<string, Uint8Array | string> = {
    [ONNX_MODEL_FILE]: graphs.item,
    'vocab.txt': `${tokenizer.tokens.join('\n')}\n`,
    [EXTERNAL_CONFIG_FILE]: `${JSON.stringify(config, null, 2)}\n`,
  };
  if (graphs.query) files[QUERY_MODEL_FILE] = graphs.query;
  const exportCard: ExportCard = {
    format: EXPORT_FORMAT,
    createdAt: new Date().toISOString(),
    source: { checkpoint: resolve(checkpointDir), step: card.step, weightsSha256: card.weights.sha256, architecture: card.architecture },
    files: Object.fromEntries(
      Object.entries(files).map(([name, data]) => [name, { sha256: createHash('sha256').update(data).digest('hex'), bytes: Buffer.byteLength(data) }]),
    ),
  };
  const temp = tempPathFor(outDir);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(temp, name), data);
  writeFileSync(join(temp, EXPORT_CARD_FILE), `${JSON.stringify(exportCard, null, 2)}\n`);
  replaceDir(temp, outDir);
  return exportCard;
}
