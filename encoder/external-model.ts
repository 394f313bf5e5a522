import { parseContract } from '../common/index.js';
import { checkRelativeName } from '../storage/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { View } from './model/index.js';
import { WordPieceTokenizer } from './tokenizer/index.js';
import { tokenizeBatch, type TextEncoder } from './text-encoder.js';
import { CheckpointError } from './errors.js';

/*
 * Brings an encoder trained elsewhere: a folder with a TensorFlow.js model
 * (`model.json` + weight shards, layers or graph format, e.g. bge-small
 * converted with tensorflowjs_converter), its BERT `vocab.txt`, and an
 * optional `sci-encoder.json` saying how to feed and pool it. Loaded from
 * local files only (tfjs's file:// handler needs tfjs-node). One tower:
 * both views run the same model, with an optional query prefix (bge's
 * instruction) — so f_q and f_i differ only by that prefix.
 */

export const EXTERNAL_CONFIG_FILE = 'sci-encoder.json';

export const ExternalConfigSchema = z.strictObject({
  /** How token outputs [b, l, h] become one vector: masked mean, the [CLS] token, or none (the model already pools). */
  pooling: z.enum(['mean', 'cls', 'none']).default('mean'),
  maxLength: z.number().int().min(2).max(8192).default(128),
  lowercase: z.boolean().default(true),
  /** Porter-stem words before WordPiece (sci-cluster's own exports; BERT-family models: false). */
  stem: z.boolean().default(false),
  /** L2-normalise the pooled vector (retrieval by inner product then equals cosine). */
  normalize: z.boolean().default(true),
  queryPrefix: z.string().default(''),
  itemPrefix: z.string().default(''),
  /** Graph-model input names; layers models take their inputs in the order ids, mask, token types. */
  inputs: z
    .strictObject({
      ids: z.string().default('input_ids'),
      mask: z.string().nullable().default('attention_mask'),
      typeIds: z.string().nullable().default('token_type_ids'),
    })
    .prefault({}),
  /** Graph-model output to read (default: the first). */
  output: z.string().nullable().default(null),
  batchSize: z.number().int().positive().default(64),
  /** ONNX folders: a second graph for the query view (DPR's question encoder, separate towers); null: one tower for both views. */
  queryModel: z.string().min(1).nullable().default(null),
});
export type ExternalConfig = z.infer<typeof ExternalConfigSchema>;

interface ModelJson {
  format?: string;
  modelTopology: { node?: unknown[] } & Record<string, unknown>;
  weightsManifest: Array<{ paths: string[]; weights: Tf.io.WeightsManifestEntry[] }>;
  signature?: unknown;
  userDefinedMetadata?: Record<string, unknown>;
  modelInitializer?: unknown;
}

export function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError(`cannot read ${file}: ${(err as Error).message}`, { file, cause: err });
  }
}

/** The folder's sci-encoder.json (every field defaulted when the file is absent). */
export function readExternalConfig(dir: string): ExternalConfig {
  const configFile = join(dir, EXTERNAL_CONFIG_FILE);
  return parseContract(ExternalConfigSchema, existsSync(configFile) ? readJson(configFile) : {}, {
    what: `invalid ${EXTERNAL_CONFIG_FILE}`,
    error: CheckpointError,
    file: configFile,
  });
}

export function isExternalModelDir(dir: string): boolean {
  return existsSync(join(dir, 'model.json'));
}

export async function loadExternalEncoder(tf: typeof Tf, dir: string): Promise<ExternalTfjsEncoder> {
  const modelFile = join(dir, 'model.json');
  const json = readJson(modelFile) as ModelJson;
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError('not a TensorFlow.js model.json (needs modelTopology and weightsManifest)', { file: modelFile });
  }
  const config = readExternalConfig(dir);
  const vocabFile = join(dir, 'vocab.txt');
  if (!existsSync(vocabFile))
    throw new CheckpointError('the model folder has no vocab.txt (the WordPiece vocabulary the model was trained with)', { file: vocabFile });
  const tokenizer = WordPieceTokenizer.fromVocabFile(vocabFile, { lowercase: config.lowercase, stem: config.stem });

  const weightSpecs: Tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const path of group.paths) {
      const file = join(dir, checkRelativeName(path, `${modelFile} weightsManifest path`));
      try {
        buffers.push(readFileSync(file));
      } catch (err) {
        throw new CheckpointError(`cannot read weight shard ${path}: ${(err as Error).message}`, { file, cause: err });
      }
    }
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: Tf.io.ModelArtifacts = { modelTopology: json.modelTopology as Tf.io.ModelArtifacts['modelTopology'], weightSpecs, weightData };
  if (json.format) artifacts.format = json.format;
  if (json.signature) artifacts.signature = json.signature as object;
  if (json.userDefinedMetadata) artifacts.userDefinedMetadata = json.userDefinedMetadata as Record<string, object>;
  if (json.modelInitializer) artifacts.modelInitializer = json.modelInitializer as object;
  const isGraph = json.format === 'graph-model' || Array.isArray(json.modelTopology.node);
  try {
    const handler = tf.io.fromMemory(artifacts);
    const model = isGraph ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
    return new ExternalTfjsEncoder(tf, model, tokenizer, config, dir);
  } catch (err) {
    throw new CheckpointError(`cannot load the ${isGraph ? 'graph' : 'layers'} model: ${(err as Error).message}`, { file: modelFile, cause: err });
  }
}

export class ExternalTfjsEncoder implements TextEncoder {
  readonly towers = 'shared' as const;
  readonly dim: number;
  readonly description: Record<string, string>;

  constructor(
    private readonly tf: typeof Tf,
    private readonly model: Tf.LayersModel | Tf.GraphModel,
    private readonly tokenizer: WordPieceTokenizer,
    readonly config: ExternalConfig,
    dir: string,
  ) {
    this.description = { 'sci.encoder': 'external-tfjs', 'sci.encoder.path': dir, 'sci.encoder.pooling': config.pooling, 'sci.encoder.engine': 'tfjs' };
    this.dim = this.encodeBatch(['dimension probe'], 'item').length;
  }

  async encode(texts: readonly string[], view: View): Promise<Float32Array> {
    const out = new Float32Array(texts.length * this.dim);
    for (let from = 0; from < texts.length; from += this.config.batchSize) {
      out.set(this.encodeBatch(texts.slice(from, from + this.config.batchSize), view), from * this.dim);
    }
    return out;
  }

  private encodeBatch(texts: readonly string[], view: View): Float32Array {
    const tf = this.tf;
    const prefix = view === 'query' ? this.config.queryPrefix : this.config.itemPrefix;
    const { ids, mask, length } = tokenizeBatch(this.tokenizer, texts, this.config.maxLength, prefix);
    const n = texts.length;
    return tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [n, length], 'int32');
      const maskT = tf.tensor2d(mask, [n, length], 'int32');
      const typeT = tf.zerosLike(idsT);
      let output: Tf.Tensor;
      if ('executeAsync' in this.model && !('layers' in this.model)) {
        const graph = this.model as Tf.GraphModel;
        const wanted = graph.inputs.map((i) => i.name);
        const feed: Record<string, Tf.Tensor> = {};
        const { inputs } = this.config;
        for (const name of wanted) {
          if (name === inputs.ids) feed[name] = idsT;
          else if (name === inputs.mask) feed[name] = maskT;
          else if (name === inputs.typeIds) feed[name] = typeT;
          else
            throw new CheckpointError(
              `graph model input ${name} is not one of the configured inputs (ids ${inputs.ids}, mask ${inputs.mask}, typeIds ${inputs.typeIds})`,
            );
        }
        const result = graph.execute(feed, this.config.output ?? undefined);
        output = Array.isArray(result) ? result[0]! : (result as Tf.Tensor);
      } else {
        const layers = this.model as Tf.LayersModel;
        const feed = [idsT, maskT, typeT].slice(0, layers.inputs.length);
        const result = layers.predict(feed.length === 1 ? feed[0]! : feed);
        output = Array.isArray(result) ? result[0]! : result;
      }
      let pooled: Tf.Tensor2D;
      if (output.rank === 2) pooled = output as Tf.Tensor2D;
      else if (output.rank === 3 && this.config.pooling === 'cls')
        pooled = (output as Tf.Tensor3D).slice([0, 0, 0], [n, 1, -1]).reshape([n, -1]) as Tf.Tensor2D;
      else if (output.rank === 3 && this.config.pooling === 'mean') {
        const m = tf.cast(maskT, 'float32').expandDims(2);
        pooled = output.mul(m).sum(1).div(m.sum(1).maximum(1e-6)) as Tf.Tensor2D;
      } else
        throw new CheckpointError(
          `model output has rank ${output.rank} and pooling is ${this.config.pooling}: expected [batch, dim], or [batch, tokens, dim] with mean or cls pooling`,
        );
      const normalised = this.config.normalize ? pooled.div(pooled.norm('euclidean', 1, true).maximum(1e-12)) : pooled;
      return normalised.dataSync() as Float32Array;
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}
