import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Storage } from './storage.js';
import { joinKey } from './storage.js';

/** Publishes every file of a local folder (recursively) under `keyPrefix`; copies, the folder stays. */
export async function uploadDir(storage: Storage, localDir: string, keyPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  // Staged on the storage's own filesystem: the publishing rename never crosses filesystems.
  const staging = await storage.workDir(keyPrefix);
  try {
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) await walk(join(dir, entry.name), joinKey(prefix, entry.name));
        else if (entry.isFile()) {
          const copy = join(staging, `${keys.length}`);
          await copyFile(join(dir, entry.name), copy);
          const key = joinKey(prefix, entry.name);
          await storage.publish(copy, key);
          keys.push(key);
        }
      }
    };
    await walk(localDir, keyPrefix);
  } finally {
    await storage.cleanup(staging);
  }
  return keys;
}
