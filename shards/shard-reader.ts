import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { readManifest, type Manifest, type ShardEntry } from './manifest.js';
import { PASSAGE_FORMAT } from './passage-schema.js';
import { ShardFormatError } from './errors.js';

export interface Passage {
  rowId: number;
  externalId: string;
  title: string;
  text: string;
}

/** Streams the record batches of one shard; a consumer that breaks releases the file. */
export async function* readShardBatches(dir: string, shard: ShardEntry, options: { signal?: AbortSignal } = {}): AsyncGenerator<RecordBatch> {
  const path = join(dir, shard.path);
  const stream = createReadStream(path);
  try {
    const reader = await (await RecordBatchReader.from(stream)).open();
    const format = reader.schema.metadata.get('sci.format');
    if (format !== PASSAGE_FORMAT) throw new ShardFormatError(`not a passage shard (sci.format = ${format ?? 'none'})`, { file: path });
    for await (const batch of reader) {
      options.signal?.throwIfAborted();
      yield batch;
    }
  } catch (err) {
    if (err instanceof ShardFormatError || (err as Error).name === 'AbortError') throw err;
    throw new ShardFormatError(`cannot read shard: ${(err as Error).message}`, { file: path, cause: err });
  } finally {
    stream.destroy();
  }
}

/** Streams the passages of one shard as plain objects. */
export async function* readShardPassages(dir: string, shard: ShardEntry, options: { signal?: AbortSignal } = {}): AsyncGenerator<Passage> {
  for await (const batch of readShardBatches(dir, shard, options)) {
    const rowIds = batch.getChild('rowId')!.toArray() as BigInt64Array;
    const externalIds = batch.getChild('externalId')!;
    const titles = batch.getChild('title')!;
    const texts = batch.getChild('text')!;
    for (let i = 0; i < batch.numRows; i++) {
      yield { rowId: Number(rowIds[i]), externalId: externalIds.get(i) as string, title: titles.get(i) as string, text: texts.get(i) as string };
    }
  }
}

/** Opens a shard set by manifest path or folder. */
export function openShardSet(pathOrDir: string): { manifest: Manifest; dir: string } {
  const { manifest, dir } = readManifest(pathOrDir);
  return { manifest, dir };
}

/** The shard holding a global row id (binary search over the manifest's ranges). */
export function shardOfRow(manifest: Manifest, rowId: number): ShardEntry | null {
  let lo = 0;
  let hi = manifest.shards.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const shard = manifest.shards[mid]!;
    if (rowId < shard.firstRowId) hi = mid - 1;
    else if (rowId >= shard.firstRowId + shard.rows) lo = mid + 1;
    else return shard;
  }
  return null;
}

/** The text a passage is encoded and indexed by: title and text together. */
export function passageText(p: Passage): string {
  return p.title === '' ? p.text : `${p.title} ${p.text}`;
}
