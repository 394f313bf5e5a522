import { Worker } from 'node:worker_threads';
import { fromErrorWire, type ErrorWire, type Logger } from '../common/index.js';
import type { EncoderSettings } from '../encoder/index.js';
import { SearchOverloadedError, SearchUnavailableError } from './errors.js';

/*
 * A model's forward pass takes the event loop for as long as it runs (tfjs
 * on wasm is synchronous): 256 long texts held the API's health checks, SSE
 * and gRPC for the whole pass. So a served model encodes on a worker thread
 * of its own, with a bounded queue of batches; the event loop only passes
 * texts in and vectors out (transferred, not copied). The hashed baseline is
 * cheap and stays inline.
 */

/** Batches waiting for the thread (each up to the API's queries per request); one more is refused. */
export const MAX_QUEUED_BATCHES = 64;

type Pending = { resolve: (vectors: Float32Array) => void; reject: (err: Error) => void };

export class EncoderThread {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly dim: number,
    /** The inference engine and execution provider the thread encodes with (e.g. onnxruntime, cpu). */
    readonly engine: { name: string; provider: string | null },
  ) {
    worker.on('message', (message: { id: number; vectors?: Float32Array; error?: ErrorWire }) => {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      if (message.error) waiting.reject(fromErrorWire(message.error));
      else waiting.resolve(message.vectors!);
    });
    const fail = (err: Error) => {
      for (const waiting of this.pending.values()) waiting.reject(new SearchUnavailableError(`the encoder thread stopped: ${err.message}`, { cause: err }));
      this.pending.clear();
      this.closed = true;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  /** Starts the thread and loads the model folder in it; resolves once it can encode. */
  static async open(dir: string, settings: EncoderSettings = {}, logger?: Logger): Promise<EncoderThread> {
    const worker = new Worker(new URL('./encoder-thread-entry.js', import.meta.url), { workerData: { dir, settings, logLevel: logger?.level ?? 'info' } });
    const ready = await new Promise<{ ready: boolean; dim?: number; engine?: string; provider?: string | null; error?: ErrorWire }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new SearchUnavailableError(`the encoder thread exited with code ${code} while loading ${dir}`)));
    });
    if (!ready.ready) {
      await worker.terminate();
      throw fromErrorWire(ready.error!);
    }
    const engine = { name: ready.engine ?? 'unknown', provider: ready.provider ?? null };
    logger?.info({ dim: ready.dim, engine: engine.name, provider: engine.provider, model: dir }, 'query encoder running on its own thread');
    return new EncoderThread(worker, ready.dim!, engine);
  }

  encode(texts: readonly string[], view: 'query' | 'item'): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new SearchUnavailableError('the encoder thread is closed'));
    if (this.pending.size >= MAX_QUEUED_BATCHES)
      return Promise.reject(new SearchOverloadedError(`${MAX_QUEUED_BATCHES} batches are waiting for the encoder; try again shortly`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, texts, view });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
