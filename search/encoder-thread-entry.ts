import { parentPort, workerData } from 'node:worker_threads';
import { createRootLogger, toErrorWire } from '../common/index.js';
import { openTextEncoder, type EncoderSettings, type TextEncoder } from '../encoder/index.js';

/*
 * The worker-thread side of search/encoder-thread.ts: loads the model folder
 * once, then encodes each batch it is sent and transfers the vectors back.
 */

interface EncodeMessage {
  id: number;
  texts: string[];
  view: 'query' | 'item';
}

const { dir, settings, logLevel } = workerData as { dir: string; settings: EncoderSettings; logLevel: string };
const port = parentPort!;
let encoder: TextEncoder;
try {
  encoder = await openTextEncoder(dir, { ...settings, logger: createRootLogger({ level: logLevel, pretty: false }).child({ component: 'query-encoder' }) });
  port.postMessage({
    ready: true,
    dim: encoder.dim,
    engine: encoder.description['sci.encoder.engine'],
    provider: encoder.description['sci.encoder.provider'] ?? null,
  });
} catch (err) {
  port.postMessage({ ready: false, error: toErrorWire(err) });
  process.exit(1);
}
// Messages are answered one at a time in arrival order: the next batch waits for this one's run.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: EncodeMessage) => {
  queue = queue.then(() => answer(message));
});

async function answer(message: EncodeMessage): Promise<void> {
  try {
    const vectors = await encoder.encode(message.texts, message.view);
    port.postMessage({ id: message.id, vectors }, [vectors.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ id: message.id, error: toErrorWire(err) });
  }
}
