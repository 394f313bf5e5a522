import { createHash } from 'node:crypto';
import { mkdir, stat, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { joinKey, type Storage } from './storage.js';
import { StorageError } from './errors.js';
import { checkRelativeName } from './keys.js';

/**
 * Makes the model folder at `key` readable as one local folder (links to the
 * fetched files: the object store caches each file on its own). Returns the
 * folder and a key that changes whenever the weights do.
 */
/** The file that makes a folder a model folder: a checkpoint's card, an ONNX export's graph, a TensorFlow.js model. */
export const MODEL_FOLDER_MARKERS = ['model-card.json', 'model.onnx', 'model.json'] as const;

export async function fetchModelFolder(storage: Storage, key: string, localDir: string): Promise<{ dir: string; cacheKey: string }> {
  let files: string[];
  let cacheKey: string;
  if (await storage.exists(joinKey(key, 'model-card.json'))) {
    const card = JSON.parse(await storage.readText(joinKey(key, 'model-card.json'))) as {
      weights?: { file?: string; sha256?: string };
      tokenizer?: { vocab?: string };
    };
    if (!card.weights?.file || !card.weights.sha256 || !card.tokenizer?.vocab)
      throw new StorageError(`model card at ${key} lacks weights.file, weights.sha256 or tokenizer.vocab`);
    files = [
      'model-card.json',
      checkRelativeName(card.weights.file, `${key}/model-card.json weights.file`),
      checkRelativeName(card.tokenizer.vocab, `${key}/model-card.json tokenizer.vocab`),
    ];
    cacheKey = card.weights.sha256;
  } else if (await storage.exists(joinKey(key, 'model.json'))) {
    const text = await storage.readText(joinKey(key, 'model.json'));
    const model = JSON.parse(text) as { weightsManifest?: Array<{ paths: string[] }> };
    files = [
      'model.json',
      'vocab.txt',
      ...(model.weightsManifest ?? []).flatMap((g) => g.paths).map((p) => checkRelativeName(p, `${key}/model.json weightsManifest path`)),
    ];
    if (await storage.exists(joinKey(key, 'sci-encoder.json'))) files.push('sci-encoder.json');
    cacheKey = `${key}:${createHash('sha256').update(text).digest('hex')}`;
  } else if (await storage.exists(joinKey(key, 'model.onnx'))) {
    // An ONNX export (optimum's, or `sci model export`): the graph(s), the tokenizer and the optional run settings.
    files = ['model.onnx'];
    for (const optional of ['model.onnx_data', 'sci-encoder.json', 'vocab.txt', 'tokenizer.json', 'export-card.json'])
      if (await storage.exists(joinKey(key, optional))) files.push(optional);
    if (files.includes('sci-encoder.json')) {
      const configKey = joinKey(key, 'sci-encoder.json');
      let config: { queryModel?: unknown };
      try {
        config = JSON.parse(await storage.readText(configKey)) as { queryModel?: unknown };
      } catch (err) {
        throw new StorageError(`${configKey} is not valid JSON: ${(err as Error).message}`, { file: configKey, cause: err });
      }
      if (typeof config.queryModel === 'string') {
        const queryModel = checkRelativeName(config.queryModel, `${key}/sci-encoder.json queryModel`);
        files.push(queryModel);
        if (await storage.exists(joinKey(key, `${queryModel}_data`))) files.push(`${queryModel}_data`);
      }
    }
    // Which files, how large, when written: a pool thread keeps a loaded model while tasks name the same key
    // (hashing the bytes would read gigabytes of a large model for every task).
    const hash = createHash('sha256').update(key);
    for (const file of files) {
      const facts = await stat(await storage.localPath(joinKey(key, file)));
      hash.update(`${file}:${facts.size}:${facts.mtimeMs}`);
    }
    cacheKey = `onnx:${hash.digest('hex')}`;
  } else {
    throw new StorageError(
      `no encoder model at ${key}: expected model-card.json (a sci-cluster checkpoint), model.onnx (an ONNX export) or model.json (a TensorFlow.js model)`,
    );
  }
  await linkFiles(
    storage,
    files.map((file) => ({ key: joinKey(key, file), name: file })),
    localDir,
  );
  return { dir: localDir, cacheKey };
}

/**
 * Links stored files into one local folder under the given names: the
 * object store caches each file on its own, while readers (a model loader,
 * BM25) expect one folder.
 */
export async function linkFiles(storage: Storage, files: ReadonlyArray<{ key: string; name: string }>, localDir: string): Promise<void> {
  await mkdir(localDir, { recursive: true });
  for (const file of files) {
    const target = join(localDir, file.name);
    await mkdir(dirname(target), { recursive: true });
    await symlink(await storage.localPath(file.key), target);
  }
}
