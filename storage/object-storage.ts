import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ObjectStore } from 'nats';
import { retrying } from '../messaging/index.js';
import { sha256 } from './fs-storage.js';
import type { Storage } from './storage.js';
import { StorageError, StorageKeyError } from './errors.js';
import { checkKey } from './keys.js';

/*
 * Files as objects in a NATS JetStream object store. Objects are chunked,
 * replicated with the bucket and carry a SHA-256 digest; downloads stream
 * to a temp file (hashed on the way), are verified, then renamed into a
 * local cache keyed by digest.
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
    try {
      await retrying(`getting ${key}`, () => this.download(key, temp, digest));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await rename(temp, local);
    return local;
  }

  /** Streams the object's chunks to `file`, hashing as they pass: memory stays one chunk, whatever the object's size. */
  private async download(key: string, file: string, digest: string): Promise<void> {
    const object = await this.store.get(key);
    if (!object) throw new StorageError(`no object ${key}`, { file: key });
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(object.data as WebReadableStream<Uint8Array>), hashing, createWriteStream(file));
    await object.error;
    if (hash.digest('hex') !== digest) throw new StorageError(`object ${key} digest mismatch`, { file: key });
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
