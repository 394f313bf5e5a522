import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { consumerOpts, JSONCodec, type JetStreamClient, type ObjectInfo, type ObjectStore } from 'nats';
import { retrying, withTimeout } from '../messaging/index.js';
import { sha256 } from './fs-storage.js';
import { keyUnder, type Storage, type StoredFile } from './storage.js';
import { ObjectCache, type Eviction } from './object-cache.js';
import { StorageError, StorageKeyError } from './errors.js';
import { checkKey } from './keys.js';
import { tempPathFor } from '../common/index.js';

/** A bucket of the object store, opened: the client its reads bind through, and its name. */
export interface ObjectBucket {
  js: JetStreamClient;
  store: ObjectStore;
  /** The bucket's name; its stream is `OBJ_<name>`. */
  name: string;
}

/** Where a host keeps its copies of objects, and how much. */
export interface ObjectCacheSettings {
  /** @defaultValue `<tmpdir>/sci-object-cache` */
  dir?: string;
  /** @defaultValue 10 GiB */
  maxBytes?: number;
  /** Told of each eviction that removed something (for the process's log). */
  onEvict?: (eviction: Eviction) => void;
}

export const DEFAULT_OBJECT_CACHE_BYTES = 10 * 2 ** 30;

/*
 * Files as objects in a NATS JetStream object store. Objects are chunked,
 * replicated with the bucket and carry a SHA-256 digest; downloads stream
 * to a temp file (hashed on the way), are verified, then renamed into a
 * local cache keyed by digest (object-cache.ts), which has a size cap.
 *
 * Chunks are read through our own ordered consumer bound to the bucket's
 * stream: nats.js's `ObjectStore.get` subscribes without a stream, so the
 * client first asks `$JS.API.STREAM.NAMES` which stream holds the chunk
 * subject, a lookup the least-privilege roles may not make (and need not:
 * the stream is known).
 */
export class NatsObjectStorage implements Storage {
  readonly kind = 'nats-object-store' as const;
  private readonly store: ObjectStore;
  readonly cache: ObjectCache;
  private readonly onEvict: ((eviction: Eviction) => void) | undefined;

  constructor(
    private readonly bucket: ObjectBucket,
    cache: ObjectCacheSettings = {},
  ) {
    this.store = bucket.store;
    this.cache = new ObjectCache({ dir: cache.dir ?? join(tmpdir(), 'sci-object-cache'), maxBytes: cache.maxBytes ?? DEFAULT_OBJECT_CACHE_BYTES });
    this.onEvict = cache.onEvict;
  }

  private get cacheDir(): string {
    return this.cache.dir;
  }

  get localRoots(): readonly string[] {
    return [this.cacheDir];
  }

  checkKey(key: string): string {
    const checked = checkKey(key);
    if (checked.startsWith('/')) throw new StorageKeyError(`object key ${JSON.stringify(key)} must not start with '/'`, { field: 'key' });
    return checked;
  }

  async localPath(key: string): Promise<string> {
    this.checkKey(key);
    const info = await retrying(`object info ${key}`, () => this.store.info(key));
    if (!info) throw new StorageError(`no object ${key}`, { file: key });
    if (info.deleted) throw new StorageError(`no object ${key}`, { file: key });
    const digest = Buffer.from(info.digest.replace(/^SHA-256=/, ''), 'base64url').toString('hex');
    const name = key.split('/').pop()!;
    const cached = this.cache.lookup(digest, name, info.size);
    if (cached !== null) return cached;
    const local = this.cache.pathFor(digest, name);
    await mkdir(dirname(local), { recursive: true });
    const temp = tempPathFor(local);
    try {
      await retrying(`getting ${key}`, () => this.download(key, temp, digest));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await rename(temp, local);
    const eviction = this.cache.evict();
    if (eviction.removed > 0) this.onEvict?.(eviction);
    return local;
  }

  /** Streams the object's chunks to `file`, hashing as they pass: memory stays one chunk, whatever the object's size. */
  private async download(key: string, file: string, digest: string): Promise<void> {
    const info = await this.store.info(key);
    if (!info || info.deleted) throw new StorageError(`no object ${key}`, { file: key });
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(Readable.from(this.chunks(info)), hashing, createWriteStream(file));
    if (hash.digest('hex') !== digest) throw new StorageError(`object ${key} digest mismatch`, { file: key });
  }

  /** The object's chunks in order, read by an ordered consumer bound to the bucket's stream (no stream lookup). */
  private async *chunks(info: ObjectInfo): AsyncGenerator<Uint8Array> {
    if (info.size === 0) return;
    const options = consumerOpts();
    options.orderedConsumer();
    options.bindStream(`OBJ_${this.bucket.name}`);
    const subscription = await this.bucket.js.subscribe(`$O.${this.bucket.name}.C.${info.nuid}`, options);
    try {
      for await (const message of subscription) {
        if (message.data.length > 0) yield message.data;
        if (message.info.pending === 0) return;
      }
      throw new StorageError(`object ${info.name}: its chunk stream ended before the last chunk`, { file: info.name });
    } finally {
      subscription.unsubscribe();
    }
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

  /**
   * The bucket's live objects under `prefix`, from the last metadata message of each (deleted ones
   * are left out). Read like the chunks, by an ordered consumer bound to the stream: nats.js's
   * `ObjectStore.list` would ask `$JS.API.STREAM.NAMES` first.
   */
  async list(prefix: string): Promise<StoredFile[]> {
    // A whole listing is one attempt: a consumer lost to a leader election mid-way starts over.
    return retrying('listing the object store', () => withTimeout(this.listOnce(prefix), 60_000, 'listing the object store'));
  }

  private async listOnce(prefix: string): Promise<StoredFile[]> {
    const stream = `OBJ_${this.bucket.name}`;
    const subject = `$O.${this.bucket.name}.M.>`;
    const jsm = await this.bucket.js.jetstreamManager(false);
    // An empty bucket never delivers: know first whether there is any metadata message at all.
    const last = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch((err: { code?: string }) => {
      if (err.code === '404') return null;
      throw err;
    });
    if (last === null) return [];
    const options = consumerOpts();
    options.orderedConsumer();
    options.deliverLastPerSubject();
    options.bindStream(stream);
    const codec = JSONCodec<ObjectInfo>();
    const found: StoredFile[] = [];
    const subscription = await this.bucket.js.subscribe(subject, options);
    try {
      for await (const message of subscription) {
        const info = codec.decode(message.data);
        if (!info.deleted && keyUnder(info.name, prefix)) found.push({ key: info.name, bytes: info.size, modified: new Date(info.mtime).toISOString() });
        if (message.info.pending === 0) break;
      }
    } finally {
      subscription.unsubscribe();
    }
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async remove(key: string): Promise<boolean> {
    this.checkKey(key);
    const info = await retrying(`object info ${key}`, () => this.store.info(key));
    if (info === null || info.deleted) return false;
    await retrying(`deleting ${key}`, () => this.store.delete(key));
    return true;
  }
}
