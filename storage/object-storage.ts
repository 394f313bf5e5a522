import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JSONCodec, type JetStreamClient, type JetStreamManager, type MsgRequest, type ObjectInfo, type ObjectStore } from 'nats';
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
 * Reads make no consumer and no stream lookup: chunks come by message gets
 * and listings from the stream's subject counts (see chunks()). nats.js's
 * `ObjectStore.get` subscribes without naming the stream, so the client
 * first asks `$JS.API.STREAM.NAMES`, a lookup the least-privilege roles may
 * not make (and need not: the stream is known).
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

  get localRoots(): readonly string[] {
    return [this.cache.dir];
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

  /**
   * The object's chunks in order, each fetched by a message get (`next_by_subj` from the sequence after
   * the last one): no consumer is made. In a JetStream cluster every consumer, even an ordered one, is
   * created and deleted through the meta leader, so one per file meant hundreds of meta proposals per
   * job (the three-host test showed their clean-up retried on a node cut off). A message get is one
   * request that the stream's leader answers. Not a direct get: that goes to any replica, and with one
   * host of three cut off a third to a half of direct gets timed out for minutes (nats-server 2.9.10).
   */
  private async *chunks(info: ObjectInfo): AsyncGenerator<Uint8Array> {
    if (info.size === 0) return;
    const jsm = await this.manager();
    const stream = `OBJ_${this.bucket.name}`;
    const subject = `$O.${this.bucket.name}.C.${info.nuid}`;
    let seq = 0;
    for (let chunk = 0; chunk < info.chunks; chunk++) {
      const message = await jsm.streams.getMessage(stream, nextBySubject(seq + 1, subject));
      if (message.subject !== subject) throw new StorageError(`object ${info.name}: chunk ${chunk} came from ${message.subject}`, { file: info.name });
      seq = message.seq;
      yield message.data;
    }
  }

  private jsm: Promise<JetStreamManager> | null = null;

  private manager(): Promise<JetStreamManager> {
    this.jsm ??= (this.bucket.js.jetstreamManager(false) as Promise<JetStreamManager>).catch((err: unknown) => {
      this.jsm = null;
      throw err;
    });
    return this.jsm;
  }

  async workDir(): Promise<string> {
    await mkdir(this.cache.dir, { recursive: true });
    return mkdtemp(join(this.cache.dir, `work-${process.pid}-`));
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
   * The bucket's live objects under `prefix`: the stream's metadata subjects (one per object name),
   * then the last metadata message of each by a message get; deleted objects are left out. No consumer
   * (see chunks()), and no `$JS.API.STREAM.NAMES` lookup as nats.js's `ObjectStore.list` would make.
   */
  async list(prefix: string): Promise<StoredFile[]> {
    return retrying('listing the object store', () => withTimeout(this.listOnce(prefix), 60_000, 'listing the object store'));
  }

  private async listOnce(prefix: string): Promise<StoredFile[]> {
    const stream = `OBJ_${this.bucket.name}`;
    const jsm = await this.manager();
    const { state } = await jsm.streams.info(stream, { subjects_filter: `$O.${this.bucket.name}.M.>` });
    const codec = JSONCodec<ObjectInfo>();
    const found: StoredFile[] = [];
    for (const subject of Object.keys(state.subjects ?? {})) {
      const info = codec.decode((await jsm.streams.getMessage(stream, { last_by_subj: subject })).data);
      if (!info.deleted && keyUnder(info.name, prefix)) found.push({ key: info.name, bytes: info.size, modified: new Date(info.mtime).toISOString() });
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

/** A get of the first message on `subject` at or after `seq`: the server takes `next_by_subj` (2.9+), nats.js's type does not list it. */
function nextBySubject(seq: number, subject: string): MsgRequest {
  return { seq, next_by_subj: subject } as unknown as MsgRequest;
}
