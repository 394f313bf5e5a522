import { onnx, type OnnxNamespace } from './proto.js';

/*
 * A small ONNX graph writer: named initializers, nodes in order, typed graph
 * inputs and outputs, serialised with onnx-proto's generated protobuf code
 * (no Python, no onnx package). Only what our towers need: float32 and int64
 * tensors, int / ints / float attributes.
 */

/** The opset our exports use: LayerNormalization (17) and ReduceSum with axes as an input (13). */
export const EXPORT_OPSET = 17;

type Attribute = number | readonly number[] | { float: number };

/** One graph input or output: a float32 or int64 tensor whose dimensions are numbers or symbolic names. */
export interface TensorSignature {
  name: string;
  type: 'float32' | 'int64';
  dims: ReadonlyArray<number | string>;
}

const ELEMENT_TYPE = { float32: 1, int64: 7 } as const;

export class GraphBuilder {
  private readonly nodes: OnnxNamespace.INodeProto[] = [];
  private readonly initializers: OnnxNamespace.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** A float32 initializer (weights). */
  floats(name: string, data: Float32Array, dims: readonly number[]): string {
    this.claim(name);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    this.initializers.push({ name, dataType: ELEMENT_TYPE.float32, dims: [...dims], rawData: new Uint8Array(raw) });
    return name;
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64s(values: readonly number[], name = this.fresh('const')): string {
    this.claim(name);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: ELEMENT_TYPE.int64, dims: [values.length], rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** A float32 scalar initializer. */
  scalar(value: number): string {
    const name = this.fresh('scalar');
    this.claim(name);
    this.initializers.push({ name, dataType: ELEMENT_TYPE.float32, dims: [], rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  }

  /** Adds `op(inputs)` and returns its (first) output's name. */
  op(opType: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, output = this.fresh(opType.toLowerCase())): string {
    this.claim(output);
    this.nodes.push({
      opType,
      name: `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([name, value]) => attributeProto(name, value)),
    });
    return output;
  }

  /** Serialised ModelProto with the given graph inputs and outputs. */
  toBytes(inputs: readonly TensorSignature[], outputs: readonly TensorSignature[], metadata: Record<string, string> = {}): Uint8Array {
    const model: OnnxNamespace.IModelProto = {
      irVersion: 8,
      producerName: 'sci-cluster',
      opsetImport: [{ domain: '', version: EXPORT_OPSET }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }

  private fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`ONNX graph ${this.graphName}: the name ${name} is used twice`);
    this.names.add(name);
  }
}

function attributeProto(name: string, value: Attribute): OnnxNamespace.IAttributeProto {
  if (typeof value === 'number') return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
  if (Array.isArray(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...(value as number[])] };
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: (value as { float: number }).float };
}

function valueInfo(signature: TensorSignature): OnnxNamespace.IValueInfoProto {
  return {
    name: signature.name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[signature.type],
        shape: { dim: signature.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
