import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, realpathSync } from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { joinKey, type Storage, type StoredFile } from './storage.js';
import { checkKey } from './keys.js';
import { StorageKeyError } from './errors.js';
import { isTempName, tempPathFor } from '../common/index.js';

/**
 * Files on a local or shared filesystem. Every key resolves inside `root`:
 * relative keys under it, absolute keys only when they already lie inside it,
 * never through `..` or a symlink that leaves it. Files are committed by
 * fsync + rename inside the root, so a commit never crosses filesystems.
 */
export class FsStorage implements Storage {
  readonly kind = 'fs' as const;
  readonly root: string;
  private realRoot: string | null = null;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get localRoots(): readonly string[] {
    return this.realRoot === null ? [this.root] : [this.root, this.realRoot];
  }

  /** The root with symlinks resolved (created on first use). */
  private rootReal(): string {
    if (this.realRoot === null) {
      mkdirSync(this.root, { recursive: true });
      this.realRoot = realpathSync(this.root);
    }
    return this.realRoot;
  }

  /** The path of `key`, or a StorageKeyError when it would leave the root. */
  resolveKey(key: string): string {
    const checked = checkKey(key);
    const path = isAbsolute(checked) ? resolve(checked) : resolve(this.root, checked);
    if (!inside(this.root, path)) throw new StorageKeyError(`storage key ${JSON.stringify(key)} is outside the storage root ${this.root}`, { field: 'key' });
    // The deepest part that exists, with links resolved, must stay inside too.
    let existing = path;
    while (!existsSync(existing) && existing !== this.root) existing = dirname(existing);
    const real = realpathSync(existing);
    if (!inside(this.rootReal(), real) && !inside(this.root, real))
      throw new StorageKeyError(`storage key ${JSON.stringify(key)} leads outside the storage root through a symlink`, { field: 'key' });
    return path;
  }

  checkKey(key: string): string {
    this.resolveKey(key);
    return checkKey(key);
  }

  async localPath(key: string): Promise<string> {
    return this.resolveKey(key);
  }

  async workDir(outputKey: string): Promise<string> {
    // Inside the output folder (so inside the root): publishing is a same-filesystem rename.
    const out = this.resolveKey(outputKey);
    await mkdir(out, { recursive: true });
    return mkdtemp(join(out, `.work-${process.pid}-`));
  }

  async publish(localFile: string, key: string): Promise<{ sha256: string; bytes: number }> {
    const target = this.resolveKey(key);
    await mkdir(dirname(target), { recursive: true });
    const digest = await sha256(localFile);
    await commitFile(localFile, target);
    return digest;
  }

  async exists(key: string): Promise<boolean> {
    return existsSync(this.resolveKey(key));
  }

  async readText(key: string): Promise<string> {
    return readFile(this.resolveKey(key), 'utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    const target = this.resolveKey(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = tempPathFor(target);
    await writeFile(temp, text);
    await fsyncPath(temp);
    await rename(temp, target);
    await fsyncPath(dirname(target));
  }

  async cleanup(localDir: string): Promise<void> {
    await rm(localDir, { recursive: true, force: true });
  }

  async list(prefix: string): Promise<StoredFile[]> {
    const start = prefix === '' ? this.root : this.resolveKey(prefix);
    const base = prefix === '' ? '' : checkKey(prefix).replace(/\/+$/, '');
    const found: StoredFile[] = [];
    const visit = async (path: string, key: string): Promise<void> => {
      const info = await lstat(path).catch(() => null);
      // Links are not followed (they could leave the root); temp names and work folders are writes in progress.
      if (!info || info.isSymbolicLink()) return;
      if (info.isFile()) {
        found.push({ key, bytes: info.size, modified: info.mtime.toISOString() });
        return;
      }
      if (!info.isDirectory()) return;
      for (const name of (await readdir(path)).sort()) {
        if (isTempName(name) || name.startsWith('.work-')) continue;
        await visit(join(path, name), joinKey(key, name));
      }
    };
    await visit(start, base);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(key: string): Promise<boolean> {
    const path = this.resolveKey(key);
    const info = await lstat(path).catch(() => null);
    if (!info) return false;
    if (info.isDirectory()) throw new StorageKeyError(`storage key ${JSON.stringify(key)} is a folder: remove the files under it`, { field: 'key' });
    await rm(path);
    // Folders the removal left empty go too, up to (not including) the root.
    for (let dir = dirname(path); dir !== this.root && inside(this.root, dir); dir = dirname(dir)) {
      if ((await readdir(dir)).length > 0) break;
      await rmdir(dir);
    }
    return true;
  }
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Moves a finished file to `target` durably: fsync the file, rename it, fsync
 * the folder. A file from another filesystem (EXDEV) is first copied to a
 * temp name beside the target, so the rename that commits it stays on one.
 */
export async function commitFile(localFile: string, target: string): Promise<void> {
  await fsyncPath(localFile);
  try {
    await rename(localFile, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const temp = tempPathFor(target);
    await copyFile(localFile, temp);
    await fsyncPath(temp);
    await rename(temp, target);
    await rm(localFile, { force: true });
  }
  await fsyncPath(dirname(target));
}

export async function sha256(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(path)).size };
}
