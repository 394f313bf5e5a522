import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Storage } from './storage.js';

/** Files on a local or shared filesystem; keys are paths (relative keys resolve under `root`). */
export class FsStorage implements Storage {
  readonly kind = 'fs' as const;

  constructor(private readonly root: string) {}

  private path(key: string): string {
    return isAbsolute(key) ? key : resolve(this.root, key);
  }

  async localPath(key: string): Promise<string> {
    return this.path(key);
  }

  async workDir(outputKey: string): Promise<string> {
    // Inside the output folder, so publishing is a same-filesystem rename.
    const out = this.path(outputKey);
    await mkdir(out, { recursive: true });
    return mkdtemp(join(out, `.work-${process.pid}-`));
  }

  async publish(localFile: string, key: string): Promise<{ sha256: string; bytes: number }> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const digest = await sha256(localFile);
    await rename(localFile, target);
    return digest;
  }

  async exists(key: string): Promise<boolean> {
    return existsSync(this.path(key));
  }

  async readText(key: string): Promise<string> {
    return readFile(this.path(key), 'utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    await writeFile(temp, text);
    await rename(temp, target);
  }

  async cleanup(localDir: string): Promise<void> {
    await rm(localDir, { recursive: true, force: true });
  }
}

export async function sha256(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(path)).size };
}
