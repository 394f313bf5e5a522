import { copyFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Storage } from './storage.js';
import { joinKey } from './storage.js';

/**
 * Publishes a local file under `key`, or every file of a local folder (recursively) under `key/…`;
 * the local copy stays. Returns the keys written.
 */
export async function uploadPath(storage: Storage, localPath: string, key: string): Promise<string[]> {
  if ((await stat(localPath)).isDirectory()) return uploadDir(storage, localPath, key);
  return withStaging(storage, key, async (stage) => {
    await storage.publish(await stage(localPath), key);
    return [key];
  });
}

/** Publishes every file of a local folder (recursively) under `keyPrefix`; copies, the folder stays. */
export async function uploadDir(storage: Storage, localDir: string, keyPrefix: string): Promise<string[]> {
  return withStaging(storage, keyPrefix, async (stage) => {
    const keys: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
        if (entry.isDirectory()) await walk(join(dir, entry.name), joinKey(prefix, entry.name));
        else if (entry.isFile()) {
          const key = joinKey(prefix, entry.name);
          await storage.publish(await stage(join(dir, entry.name)), key);
          keys.push(key);
        }
      }
    };
    await walk(localDir, keyPrefix);
    return keys;
  });
}

/**
 * Filesystem storage publishes by renaming, which would take the caller's file away: files are
 * copied into a work folder on the storage's own filesystem first (so the rename never crosses
 * filesystems). The object store reads the file as it is, so nothing is copied for it.
 */
async function withStaging<T>(storage: Storage, key: string, body: (stage: (file: string) => Promise<string>) => Promise<T>): Promise<T> {
  if (storage.kind === 'nats-object-store') return body(async (file) => file);
  const staging = await storage.workDir(key);
  let count = 0;
  try {
    return await body(async (file) => {
      const copy = join(staging, `${count++}-${basename(file)}`);
      await copyFile(file, copy);
      return copy;
    });
  } finally {
    await storage.cleanup(staging);
  }
}
