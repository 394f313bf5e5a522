import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordBatch, RecordBatchReader, type Schema } from 'apache-arrow';
import { PassageBatchBuilder, passageSchema, type PassageRow } from './passage-schema.js';
import { ShardFileWriter } from './shard-file-writer.js';
import type { ShardEntry } from './manifest.js';

/*
 * Routes accepted passages into shard files.
 *
 * Id policy: accepted rows get global row ids 0, 1, 2, ... in input order
 * (the order the ingester reads its files, which is fixed per format); shard k
 * holds the contiguous range [firstRowId, firstRowId + rows). Row ids, shard
 * ranges and the external id of every row are stored in the files and the
 * manifest, so reading never depends on file or directory order.
 *
 * With a fixed shard count the total is unknown while streaming, so rows are
 * spooled to one temporary Arrow file first and then cut into equal ranges
 * (sizes differ by at most one). With rows-per-shard they go straight to the
 * shard files.
 */

export type ShardLayout = { rowsPerShard: number } | { shardCount: number };

export interface ShardSetWriterOptions {
  outDir: string;
  layout: ShardLayout;
  /** Rows per record batch. */
  batchRows: number;
  /** Extra schema metadata (source format). */
  metadata?: Record<string, string>;
}

export function shardFileName(id: number): string {
  return `passages-${String(id).padStart(5, '0')}.arrow`;
}

export class ShardSetWriter {
  private readonly options: ShardSetWriterOptions;
  private readonly schema: Schema;
  private readonly builder: PassageBatchBuilder;
  private readonly spoolPath: string;
  private current: ShardFileWriter | null = null;
  private currentFirstRowId = 0;
  private readonly entries: ShardEntry[] = [];
  private nextRowId = 0;

  constructor(options: ShardSetWriterOptions) {
    this.options = options;
    mkdirSync(options.outDir, { recursive: true });
    this.schema = passageSchema(options.metadata);
    this.builder = new PassageBatchBuilder(this.schema);
    this.spoolPath = join(options.outDir, '.spool.arrow');
  }

  get rowsWritten(): number {
    return this.nextRowId;
  }

  /** Adds one accepted passage and returns its global row id. */
  add(row: PassageRow): number {
    const rowId = this.nextRowId++;
    if (this.current === null) this.openNext(rowId);
    this.builder.push(rowId, row);
    const shardFull = 'rowsPerShard' in this.options.layout && this.current!.rows + this.builder.length >= this.options.layout.rowsPerShard;
    if (this.builder.length >= this.options.batchRows || shardFull) this.flushBatch();
    if (shardFull) this.commitCurrent();
    return rowId;
  }

  async finish(): Promise<ShardEntry[]> {
    if (this.builder.length > 0) this.flushBatch();
    if ('rowsPerShard' in this.options.layout) {
      if (this.current !== null) this.commitCurrent();
      if (this.entries.length === 0) {
        // An input with no accepted rows still yields one (empty) valid shard.
        this.openNext(0);
        this.commitCurrent();
      }
      return this.entries;
    }
    if (this.current === null) this.openNext(0);
    this.current!.commit();
    this.current = null;
    await this.splitSpool(this.options.layout.shardCount);
    return this.entries;
  }

  abort(): void {
    this.current?.abort();
    this.current = null;
    rmSync(this.spoolPath, { force: true });
  }

  private openNext(firstRowId: number): void {
    const path = 'rowsPerShard' in this.options.layout ? join(this.options.outDir, shardFileName(this.entries.length)) : this.spoolPath;
    this.current = new ShardFileWriter(path, this.schema);
    this.currentFirstRowId = firstRowId;
  }

  private flushBatch(): void {
    this.current!.write(this.builder.flush());
  }

  private commitCurrent(): void {
    const writer = this.current!;
    const committed = writer.commit();
    this.entries.push({
      id: this.entries.length,
      path: shardFileName(this.entries.length),
      rows: writer.rows,
      sha256: committed.sha256,
      bytes: committed.bytes,
      firstRowId: this.currentFirstRowId,
    });
    this.current = null;
  }

  private async splitSpool(shardCount: number): Promise<void> {
    const total = this.nextRowId;
    const bound = (k: number) => Math.floor((k * total) / shardCount);
    let shard = 0;
    this.current = new ShardFileWriter(join(this.options.outDir, shardFileName(0)), this.schema);
    this.currentFirstRowId = 0;
    // A file handle, not a read stream: the spool is an Arrow file (its footer at the end), and from a stream
    // arrow-js buffers the whole file to reach it (2.2 GiB of RSS for 1M passages); from a handle it reads a
    // batch at a time.
    const handle = await open(this.spoolPath);
    try {
      const reader = await RecordBatchReader.from(handle);
      let rowOfBatch = 0;
      for await (const spooled of reader) {
        const batch = new RecordBatch(this.schema, spooled.data);
        let offset = 0;
        while (offset < batch.numRows) {
          const global = rowOfBatch + offset;
          while (global >= bound(shard + 1)) {
            shard += 1;
            this.advanceSplit(shard, bound(shard));
          }
          const take = Math.min(batch.numRows - offset, bound(shard + 1) - global);
          this.current!.write(offset === 0 && take === batch.numRows ? batch : batch.slice(offset, offset + take));
          offset += take;
        }
        rowOfBatch += batch.numRows;
      }
      while (shard < shardCount - 1) {
        shard += 1;
        this.advanceSplit(shard, bound(shard));
      }
    } finally {
      await handle.close();
    }
    this.commitCurrent();
    rmSync(this.spoolPath, { force: true });
  }

  private advanceSplit(nextShard: number, firstRowId: number): void {
    this.commitCurrent();
    this.current = new ShardFileWriter(join(this.options.outDir, shardFileName(nextShard)), this.schema);
    this.currentFirstRowId = firstRowId;
  }
}
