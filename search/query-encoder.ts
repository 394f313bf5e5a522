import { readSetManifest } from '../shards/index.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { hashedTextEncoder, loadModel, openTextEncoder, type EncoderSettings, type TextEncoder } from '../encoder/index.js';
import { fetchModelFolder, joinKey, type Storage } from '../storage/index.js';
import { processTempDir, type Logger } from '../common/index.js';
import { SearchUnavailableError } from './errors.js';
import { EncoderThread } from './encoder-thread.js';

/**
 * The encoder that made an embedding set (its manifest names it), so queries
 * are encoded by the same model (the query tower, f_q) as the passages were.
 */
export async function openSetEncoder(
  storage: Storage,
  embeddingsKey: string,
  logger?: Logger,
  options: { onThread?: boolean; settings?: EncoderSettings } = {},
): Promise<{ encoder: TextEncoder | null; thread: EncoderThread | null; close: () => void }> {
  const manifest = await readSetManifest(storage, embeddingsKey, 'embeddings');
  const spec = manifest.encoder;
  if (spec.kind === 'hashed-tfidf') {
    const model = loadModel(
      await storage.localPath(joinKey(embeddingsKey, 'model', 'encoder.json')),
      await storage.localPath(joinKey(embeddingsKey, 'model', 'idf.f32')),
    );
    return { encoder: hashedTextEncoder(model), thread: null, close: () => {} };
  }
  if (spec.kind === 'model') {
    const dir = processTempDir('query-encoder');
    const folder = await fetchModelFolder(storage, spec.path, join(dir, 'model'));
    // A model's forward pass would hold the event loop: a serving process runs it on a thread of its own.
    if (options.onThread) {
      const thread = await EncoderThread.open(folder.dir, options.settings, logger);
      return {
        encoder: null,
        thread,
        close: () => {
          void thread.close().finally(() => rmSync(dir, { recursive: true, force: true }));
        },
      };
    }
    const encoder = await openTextEncoder(folder.dir, { ...options.settings, logger });
    return {
      encoder,
      thread: null,
      close: () => {
        encoder.dispose();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  // The manifest's schema admits only these two kinds (shards/set-manifest.ts EncoderDescriptionSchema).
  spec satisfies never;
  throw new SearchUnavailableError(`embedding set ${embeddingsKey} names an encoder of no known kind`, {
    file: joinKey(embeddingsKey, 'manifest.json'),
    field: 'encoder',
  });
}
