import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { RecordBatchFileWriter, type RecordBatch, type Schema } from 'apache-arrow';
import { tempPathFor } from '../common/index.js';

/*
 * Writes one Arrow IPC file batch by batch with bounded memory and commits it
 * atomically: bytes go to `<path>.tmp-<pid>` while a sha256 is computed over
 * them, and `commit()` renames the file into place. A crash leaves at most a
 * temp file, never a half-written shard under its final name.
 *
 * arrow-js queues serialized bytes in an async queue with no backpressure;
 * overriding its `_write` hook (protected API, pinned version, covered by
 * tests) lets us copy each piece straight into a staging buffer and file.
 */

const STAGING_BYTES = 4 << 20;

class SyncFileSinkWriter extends RecordBatchFileWriter {
  private readonly fd: number;
  private readonly hash: Hash;
  private staging = Buffer.allocUnsafe(STAGING_BYTES);
  private staged = 0;
  bytesWritten = 0;

  constructor(fd: number, hash: Hash) {
    super();
    this.fd = fd;
    this.hash = hash;
  }

  protected override _write(chunk: unknown): this {
    if (!this._started) return this;
    const view = chunk as ArrayBufferView;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    if (bytes.byteLength === 0) return this;
    if (this.staged + bytes.byteLength > this.staging.length) this.flushStaging();
    if (bytes.byteLength > this.staging.length) {
      this.emit(bytes);
    } else {
      this.staging.set(bytes, this.staged);
      this.staged += bytes.byteLength;
    }
    this._position += bytes.byteLength;
    return this;
  }

  flushStaging(): void {
    if (this.staged === 0) return;
    this.emit(this.staging.subarray(0, this.staged));
    this.staged = 0;
  }

  private emit(bytes: Uint8Array): void {
    this.hash.update(bytes);
    let offset = 0;
    while (offset < bytes.byteLength) offset += writeSync(this.fd, bytes, offset);
    this.bytesWritten += bytes.byteLength;
  }
}

export interface CommittedFile {
  path: string;
  sha256: string;
  bytes: number;
}

export class ShardFileWriter {
  readonly path: string;
  private readonly tempPath: string;
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private readonly writer: SyncFileSinkWriter;
  private state: 'open' | 'committed' | 'aborted' = 'open';
  rows = 0;

  constructor(path: string, schema: Schema) {
    this.path = path;
    this.tempPath = tempPathFor(path);
    this.fd = openSync(this.tempPath, 'w');
    this.writer = new SyncFileSinkWriter(this.fd, this.hash);
    this.writer.reset(undefined, schema);
  }

  write(batch: RecordBatch): void {
    if (this.state !== 'open') throw new Error(`shard file ${this.path} is ${this.state}`);
    this.writer.write(batch);
    this.rows += batch.numRows;
  }

  /** Finishes the file (footer), syncs nothing more than the OS does, renames into place. */
  commit(): CommittedFile {
    this.writer.finish();
    this.writer.flushStaging();
    closeSync(this.fd);
    renameSync(this.tempPath, this.path);
    this.state = 'committed';
    return { path: this.path, sha256: this.hash.digest('hex'), bytes: this.writer.bytesWritten };
  }

  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    try {
      closeSync(this.fd);
    } finally {
      rmSync(this.tempPath, { force: true });
    }
  }
}
