import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import type { Logger } from '../../common/index.js';
import { EncoderEngineError } from '../errors.js';

/*
 * ONNX Runtime for inference. onnxruntime-node ships its CPU library inside
 * the package (its postinstall, which fetches the CUDA provider from NuGet,
 * is skipped: allowScripts). The CUDA execution provider is tried where an
 * NVIDIA device is present and its libraries are installed (the GPU image,
 * scripts/gpu-check.sh); otherwise, or when it fails to load, the CPU one.
 * Which provider runs is logged and recorded with every encoder.
 */

export type ExecutionProvider = 'cpu' | 'cuda';
export type ProviderPreference = 'auto' | ExecutionProvider;

export interface SessionOptions {
  /** Intra-op threads of one session: the cores one model may use. @defaultValue 1 */
  threads?: number;
  provider?: ProviderPreference;
  logger?: Logger;
}

export interface OpenedSession {
  session: Ort.InferenceSession;
  provider: ExecutionProvider;
  ort: typeof Ort;
}

const require = createRequire(import.meta.url);
let runtime: typeof Ort | null = null;

// ONNX Runtime's Linux build carries a telemetry library that leaves /tmp/mat-debug-<pid>.log behind
// for every process that opens a session. Off unless the user chose otherwise. The native library reads
// the process environment, which only the main thread's process.env writes through to, so this runs as
// the module loads in a process's main thread, before its pool threads start.
if (isMainThread) process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** onnxruntime-node, or a typed error saying why it cannot load (the caller may fall back to tfjs). */
export function loadOnnxRuntime(): typeof Ort {
  if (runtime) return runtime;
  try {
    runtime = require('onnxruntime-node') as typeof Ort;
    return runtime;
  } catch (err) {
    throw new EncoderEngineError(`onnxruntime-node cannot be loaded: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

export function onnxRuntimeVersion(): string {
  return loadOnnxRuntime().env.versions.node ?? 'unknown';
}

/** Whether this host has an NVIDIA device node (the CUDA provider is worth trying). */
export function hasNvidiaDevice(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

/** A session on the preferred provider; 'auto' tries CUDA where a GPU is present and falls back to CPU, saying why. */
export async function openSession(model: string | Uint8Array, options: SessionOptions = {}): Promise<OpenedSession> {
  const ort = loadOnnxRuntime();
  const preference = options.provider ?? 'auto';
  const threads = options.threads ?? 1;
  const create = async (provider: ExecutionProvider) => {
    try {
      return await ort.InferenceSession.create(model as Uint8Array, {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      // A graph ONNX Runtime cannot load (corrupt, unsupported ops, a missing provider) does not load on a retry either.
      throw new EncoderEngineError(`ONNX Runtime cannot load the model on the ${provider} provider: ${(err as Error).message.split('\n')[0]}`, {
        file: typeof model === 'string' ? model : undefined,
        cause: err,
      });
    }
  };
  const wantsCuda = preference === 'cuda' || (preference === 'auto' && hasNvidiaDevice());
  if (wantsCuda) {
    try {
      return { session: await create('cuda'), provider: 'cuda', ort };
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0];
      if (preference === 'cuda') throw new EncoderEngineError(`the CUDA execution provider cannot start: ${reason}`, { cause: err });
      options.logger?.warn({ reason }, 'CUDA execution provider unavailable, encoding on the CPU provider');
    }
  }
  return { session: await create('cpu'), provider: 'cpu', ort };
}
