import { parentPort, workerData } from 'node:worker_threads';
import { toErrorWire } from '../common/index.js';
import { loadTfBackend, openTextEncoder, type TextEncoder } from '../encoder/index.js';

/*
 * The worker-thread side of search/encoder-thread.ts: loads the model folder
 * once, then encodes each batch it is sent and transfers the vectors back.
 */

interface EncodeMessage {
  id: number;
  texts: string[];
  view: 'query' | 'item';
}

const { dir } = workerData as { dir: string };
const port = parentPort!;
let encoder: TextEncoder;
try {
  const { tf, name: backend } = await loadTfBackend('auto');
  encoder = await openTextEncoder(tf, dir);
  port.postMessage({ ready: true, dim: encoder.dim, backend });
} catch (err) {
  port.postMessage({ ready: false, error: toErrorWire(err) });
  process.exit(1);
}
port.on('message', (message: EncodeMessage) => {
  try {
    const vectors = encoder.encode(message.texts, message.view);
    port.postMessage({ id: message.id, vectors }, [vectors.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: message.id, error: toErrorWire(err) });
  }
});
