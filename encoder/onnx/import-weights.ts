import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx, type OnnxNamespace } from './proto.js';
import { ArchitectureSchema, type Architecture } from '../model/index.js';
import { CheckpointError } from '../errors.js';
import { EXTERNAL_CONFIG_FILE, readExternalConfig } from '../external-model.js';
import { checkRelativeName } from '../../storage/index.js';
import type { WordPieceTokenizer } from '../tokenizer/index.js';
import { folderTokenizer, ONNX_MODEL_FILE } from './model-folder.js';

/*
 * The way back from an ONNX folder to trainable weights, for
 * `sci train --init-from`: our own exports carry their architecture in the
 * graph's metadata and name every initializer as the checkpoint names its
 * weight, so the towers can be rebuilt exactly. Any other graph (a BERT
 * exported by optimum) is a different architecture and is refused.
 */

export interface ExportedWeights {
  architecture: Architecture;
  tokenizer: WordPieceTokenizer;
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  /** The graph file the weights came from, for error messages. */
  file: string;
}

export function readExportedWeights(dir: string): ExportedWeights {
  const config = readExternalConfig(dir);
  const files = [ONNX_MODEL_FILE, ...(config.queryModel ? [checkRelativeName(config.queryModel, `${EXTERNAL_CONFIG_FILE} queryModel`)] : [])].map((f) =>
    join(dir, f),
  );
  let architecture: Architecture | null = null;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const file of files) {
    let model: OnnxNamespace.ModelProto;
    try {
      model = onnx.ModelProto.decode(readFileSync(file));
    } catch (err) {
      throw new CheckpointError(`cannot read the ONNX graph: ${(err as Error).message}`, { file, cause: err });
    }
    const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
    const declared = meta.get('sci.architecture');
    if (!declared)
      throw new CheckpointError(
        'this ONNX graph is not a sci-cluster export (no sci.architecture metadata): sci train can start only from our own towers, so encode with it instead',
        { file },
      );
    let declaredJson: unknown;
    try {
      declaredJson = JSON.parse(declared);
    } catch (err) {
      throw new CheckpointError(`sci.architecture metadata is not JSON: ${(err as Error).message}`, { file, field: 'sci.architecture', cause: err });
    }
    const parsed = ArchitectureSchema.safeParse(declaredJson);
    if (!parsed.success) throw new CheckpointError(`sci.architecture metadata is invalid: ${parsed.error.message}`, { file, field: 'sci.architecture' });
    architecture = parsed.data;
    for (const init of model.graph?.initializer ?? []) {
      const name = init.name ?? '';
      // Our weights are float32 named as in the checkpoint ("query/embeddings", "idf"); scalars, shapes and axes are graph plumbing.
      const isWeight = init.dataType === 1 && (name.includes('/') || name === 'idf');
      if (isWeight && !tensors.has(name)) tensors.set(name, floats(init));
    }
  }
  const tokenizer = folderTokenizer(dir, config);
  if (tokenizer.size !== architecture!.vocabSize)
    throw new CheckpointError(`the vocabulary has ${tokenizer.size} pieces, the model expects ${architecture!.vocabSize}`, { file: dir, field: 'vocabSize' });
  return { architecture: architecture!, tokenizer, tensors, file: files[0]! };
}

function floats(init: OnnxNamespace.ITensorProto): { shape: number[]; data: Float32Array } {
  const raw = init.rawData ?? new Uint8Array();
  const data = new Float32Array(raw.byteLength / 4);
  new Uint8Array(data.buffer).set(raw);
  return { shape: (init.dims ?? []).map(Number), data };
}
