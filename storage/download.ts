import { copyFile, mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tempPathFor } from '../common/index.js';
import { StorageError } from './errors.js';
import { keyUnder, type Storage } from './storage.js';

/**
 * Copies the file `key`, or every file under the prefix `key`, into `localDir` (paths relative to the
 * prefix; a single file keeps its base name). Each file lands under a temp name and is renamed, so an
 * interrupted copy leaves no half file under a real name. The object store verifies each download's
 * digest on the way (localPath). Returns the local paths written.
 */
export async function downloadPrefix(storage: Storage, key: string, localDir: string): Promise<string[]> {
  const prefix = storage.checkKey(key).replace(/\/+$/, '');
  const files = (await storage.list(prefix)).filter((f) => keyUnder(f.key, prefix));
  if (files.length === 0) throw new StorageError(`nothing stored under ${prefix}`, { file: prefix });
  const written: string[] = [];
  for (const file of files) {
    const relative = file.key === prefix ? file.key.split('/').pop()! : file.key.slice(prefix.length + 1);
    const target = join(localDir, relative);
    await mkdir(dirname(target), { recursive: true });
    const temp = tempPathFor(target);
    await copyFile(await storage.localPath(file.key), temp);
    await rename(temp, target);
    written.push(target);
  }
  return written;
}
