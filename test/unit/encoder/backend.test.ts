import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createRootLogger } from '../../../common/logger.js';
import { loadTfBackend } from '../../../encoder/backend.js';

test('backend selection falls back to a CPU backend that installs offline, and logs the choice', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(chunk.toString()), done()) });
  const backend = await loadTfBackend('auto', createRootLogger({ destination: sink, level: 'info' }));
  assert.ok(['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(backend.name));
  assert.ok(backend.threads >= 1);
  const { tf } = backend;
  const product = tf.matMul(
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]),
    tf.tensor2d([[5], [6]]),
  );
  assert.deepEqual(Array.from(await product.data()), [17, 39]);
  product.dispose();
  const logged = JSON.parse(lines.find((l) => l.includes('backend selected'))!);
  assert.equal(logged.backend, backend.name);
  if (backend.name === 'wasm')
    assert.ok(
      logged.skipped.some((s: string) => s.startsWith('tensorflow-gpu')),
      'the GPU package was tried first',
    );
});
