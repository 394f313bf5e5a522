import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ObjectStore } from 'nats';
import { retrying } from '../messaging/index.js';
import { sha256 } from './fs-storage.js';
import type { Storage } from './storage.js';
import { StorageError, StorageKeyError } from './errors.js';
import { checkKey } from './keys.js';

/*
 * Files as objects in a NATS JetStream object store. Objects are chunked,
 * replicated with the bucket and carry a SHA-256 digest; downloads are
 * cached locally by key and digest and verified.
 */
export class NatsObjectStorage implements Storage {
  readonly kind = 'nats-object-store' as const;

  constructor(
    private readonly store: ObjectStore,
    private readonly cacheDir: string = join(tmpdir(), 'sci-object-cache'),
  ) {}

  checkKey(key: string): string {
    const checked = checkKey(key);
    if (checked.startsWith('/')) throw new StorageKeyError(`object key ${JSON.stringify(key)} must not start with '/'`, { field: 'key' });
    return checked;
  }

  async localPath(key: string): Promise<string> {
    this.checkKey(key);
    const info = await retrying(`object info ${key}`, () => this.store.info(key));
    if (!info) throw new StorageError(`no object ${key}`, { file: key });
    const digest = Buffer.from(info.digest.replace(/^SHA-256=/, ''), 'base64url').toString('hex');
    const local = join(this.cacheDir, digest.slice(0, 2), digest, key.split('/').pop()!);
    if (existsSync(local)) return local;
    await mkdir(dirname(local), { recursive: true });
    const temp = `${local}.tmp-${process.pid}`;
    const result = await retrying(`getting ${key}`, async () => {
      const object = await this.store.get(key);
      if (!object) throw new StorageError(`no object ${key}`, { file: key });
      const chunks: Uint8Array[] = [];
      const reader = object.data.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
      await object.error;
      return Buffer.concat(chunks);
    });
    const actual = createHash('sha256').update(result).digest('hex');
    if (actual !== digest) throw new StorageError(`object ${key} digest mismatch`, { file: key });
    await writeFile(temp, result);
    await rename(temp, local);
    return local;
  }

  async workDir(): Promise<string> {
    await mkdir(this.cacheDir, { recursive: true });
    return mkdtemp(join(this.cacheDir, `work-${process.pid}-`));
  }

  async publish(localFile: string, key: string): Promise<{ sha256: string; bytes: number }> {
    this.checkKey(key);
    const digest = await sha256(localFile);
    await retrying(`putting ${key}`, () => this.store.put({ name: key }, Readable.toWeb(createReadStream(localFile)) as ReadableStream<Uint8Array>));
    return digest;
  }

  async exists(key: string): Promise<boolean> {
    const info = await retrying(`object info ${key}`, () => this.store.info(key));
    return info !== null && !info.deleted;
  }

  async readText(key: string): Promise<string> {
    return readFile(await this.localPath(key), 'utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    this.checkKey(key);
    await retrying(`putting ${key}`, () => this.store.putBlob({ name: key }, new TextEncoder().encode(text)));
  }

  async cleanup(localDir: string): Promise<void> {
    await rm(localDir, { recursive: true, force: true });
  }
}
