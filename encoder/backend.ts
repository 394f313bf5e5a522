import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type * as Tf from '@tensorflow/tfjs';
import type { Logger } from '../common/index.js';

/*
 * TensorFlow.js backend selection. `@tensorflow/tfjs-node-gpu` (GPU nodes) and
 * `@tensorflow/tfjs-node` download libtensorflow at install time, so they are
 * optional and usually absent offline; then the fastest CPU backend that
 * installs offline is used: wasm (SIMD; single-threaded under Node), else the
 * pure-JS cpu backend. The choice and thread count are logged and recorded in
 * model cards and reports.
 */

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface TfBackend {
  tf: typeof Tf;
  name: BackendName;
  /** npm package that provides it. */
  package: string;
  /** Threads the backend computes with. */
  threads: number;
}

const require = createRequire(import.meta.url);
let loaded: TfBackend | null = null;

export async function loadTfBackend(preference: BackendPreference = 'auto', logger?: Logger): Promise<TfBackend> {
  if (loaded && (preference === 'auto' || preference === loaded.name)) return loaded;
  const tried: string[] = [];
  const attempt = async (name: BackendName): Promise<TfBackend | null> => {
    try {
      if (name === 'tensorflow-gpu' || name === 'tensorflow') {
        const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
        const tf = require(pkg) as typeof Tf;
        await tf.ready();
        return { tf, name, package: pkg, threads: availableParallelism() };
      }
      const tf = require('@tensorflow/tfjs') as typeof Tf;
      if (name === 'wasm') {
        require('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) throw new Error('setBackend(wasm) refused');
        await tf.ready();
        return { tf, name, package: '@tensorflow/tfjs-backend-wasm', threads: 1 };
      }
      await tf.setBackend('cpu');
      await tf.ready();
      return { tf, name: 'cpu', package: '@tensorflow/tfjs', threads: 1 };
    } catch (err) {
      tried.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
      return null;
    }
  };
  const order: BackendName[] = preference === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [preference];
  for (const name of order) {
    const backend = await attempt(name);
    if (backend) {
      loaded = backend;
      logger?.info({ backend: backend.name, package: backend.package, threads: backend.threads, skipped: tried }, 'tensorflow.js backend selected');
      return backend;
    }
  }
  throw new Error(`no TensorFlow.js backend could be loaded: ${tried.join('; ')}`);
}
