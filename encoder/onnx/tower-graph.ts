import type { Architecture } from '../model/index.js';
import { GraphBuilder } from './graph-builder.js';

/*
 * One tower of a sci-cluster dual encoder as an ONNX graph, the same
 * computation as encoder/model/{fast,transformer}-tower.ts op for op:
 * token ids and attention mask in, the pooled, projected, L2-normalised
 * vector out. Inputs are named as Hugging Face exports name them, so the
 * folder loads like any exported encoder.
 */

export const TOWER_INPUTS = { ids: 'input_ids', mask: 'attention_mask' } as const;
export const TOWER_OUTPUT = 'sentence_embedding';

/** Must equal transformer-tower.ts MASKED and layers.ts's epsilons for the parity the export promises. */
const MASKED = -1e9;
const LAYER_NORM_EPSILON = 1e-5;
const POOL_EPSILON = 1e-6;
const NORM_EPSILON = 1e-12;

export interface WeightValue {
  data: Float32Array;
  shape: readonly number[];
}

/** The serialised graph of the `tower` weights ('shared', 'query' or 'item'). */
export function towerGraph(
  architecture: Architecture,
  weight: (name: string) => WeightValue,
  tower: string,
  metadata: Record<string, string> = {},
): Uint8Array {
  const g = new GraphBuilder(`sci-${architecture.kind}-${tower}`);
  const w = (name: string, global = false) => {
    const full = global ? name : `${tower}/${name}`;
    const value = weight(full);
    return g.floats(full, value.data, value.shape);
  };
  const ids = TOWER_INPUTS.ids;
  const maskFloat = g.op('Cast', [TOWER_INPUTS.mask], { to: 1 });
  const one = g.int64s([1]);
  const axisTokens = g.int64s([1]);

  let tokens = g.op('Gather', [w('embeddings'), ids], { axis: 0 });
  if (architecture.kind === 'transformer') tokens = transformerLayers(g, architecture, w, tokens, maskFloat);

  // Pooling: mean (or IDF-weighted mean) over real tokens, as layers.ts pool().
  let weights = maskFloat;
  if (architecture.pooling === 'idf') weights = g.op('Mul', [g.op('Gather', [w('idf', true), ids], { axis: 0 }), maskFloat]);
  const weights3 = g.op('Unsqueeze', [weights, g.int64s([2])]);
  const summed = g.op('ReduceSum', [g.op('Mul', [tokens, weights3]), axisTokens], { keepdims: 0 });
  const count = g.op('Max', [g.op('ReduceSum', [weights3, axisTokens], { keepdims: 0 }), g.scalar(POOL_EPSILON)]);
  const pooled = g.op('Div', [summed, count]);

  const projected = g.op('Add', [g.op('MatMul', [pooled, w('proj/kernel')]), w('proj/bias')]);
  const norm = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [projected, projected]), one], { keepdims: 1 })]);
  g.op('Div', [projected, g.op('Max', [norm, g.scalar(NORM_EPSILON)])], {}, TOWER_OUTPUT);

  return g.toBytes(
    [
      { name: TOWER_INPUTS.ids, type: 'int64', dims: ['batch', 'sequence'] },
      { name: TOWER_INPUTS.mask, type: 'int64', dims: ['batch', 'sequence'] },
    ],
    [{ name: TOWER_OUTPUT, type: 'float32', dims: ['batch', architecture.dim] }],
    { 'sci.architecture': JSON.stringify(architecture), 'sci.tower': tower, ...metadata },
  );
}

type TransformerArchitecture = Extract<Architecture, { kind: 'transformer' }>;

function transformerLayers(g: GraphBuilder, architecture: TransformerArchitecture, w: (name: string) => string, embedded: string, maskFloat: string): string {
  const { width, heads, layers } = architecture;
  const headDim = width / heads;
  // Learned positions 0..length-1, length read from the ids' shape.
  const length = g.op('Slice', [g.op('Shape', [TOWER_INPUTS.ids]), g.int64s([1]), g.int64s([2])]);
  const positions = g.op('Slice', [w('positions'), g.int64s([0]), length, g.int64s([0])]);
  let x = g.op('Add', [embedded, positions]);
  // [b, l] → [b, 1, 1, l]: 0 for real keys, MASKED for padding.
  const keyBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.scalar(1), maskFloat]), g.scalar(MASKED)]), g.int64s([1, 2])]);
  const layerNorm = (input: string, prefix: string) =>
    g.op('LayerNormalization', [input, w(`${prefix}/gamma`), w(`${prefix}/beta`)], { axis: -1, epsilon: { float: LAYER_NORM_EPSILON } });
  const dense = (input: string, prefix: string) => g.op('Add', [g.op('MatMul', [input, w(`${prefix}/kernel`)]), w(`${prefix}/bias`)]);
  const splitShape = g.int64s([0, 0, heads, headDim]);
  const mergeShape = g.int64s([0, 0, width]);
  const splitHeads = (t: string) => g.op('Transpose', [g.op('Reshape', [t, splitShape])], { perm: [0, 2, 1, 3] });
  const scale = g.scalar(Math.sqrt(headDim));
  for (let l = 0; l < layers; l++) {
    const p = `layer${l}`;
    const h = layerNorm(x, `${p}/ln1`);
    const q = splitHeads(dense(h, `${p}/attn/q`));
    const k = splitHeads(dense(h, `${p}/attn/k`));
    const v = splitHeads(dense(h, `${p}/attn/v`));
    const scores = g.op('Add', [g.op('Div', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), scale]), keyBias]);
    const attention = g.op('Softmax', [scores], { axis: -1 });
    const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [attention, v])], { perm: [0, 2, 1, 3] }), mergeShape]);
    x = g.op('Add', [x, dense(context, `${p}/attn/o`)]);
    const h2 = layerNorm(x, `${p}/ln2`);
    x = g.op('Add', [x, dense(gelu(g, dense(h2, `${p}/ffn/in`)), `${p}/ffn/out`)]);
  }
  return layerNorm(x, 'ln');
}

/** GELU, tanh approximation, as layers.ts gelu(). */
function gelu(g: GraphBuilder, x: string): string {
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar(0.044715)])]), g.scalar(Math.sqrt(2 / Math.PI))]);
  return g.op('Mul', [g.op('Mul', [x, g.scalar(0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar(1)])]);
}
