import { createRequire } from 'node:module';
import type { onnx as OnnxNamespace } from 'onnx-proto';

/** ONNX's protobuf messages (onnx-proto: CommonJS with a namespace export; createRequire keeps its runtime object typed). */
export const { onnx } = createRequire(import.meta.url)('onnx-proto') as { onnx: typeof OnnxNamespace };
export type { OnnxNamespace };
