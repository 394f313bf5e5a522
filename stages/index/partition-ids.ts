import { Field, Int64, makeVector, RecordBatch, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { join } from 'node:path';
import type { FaissIndex } from '../../faiss/index.js';
import { ShardFileWriter } from '../../shards/index.js';
import type { PoolResult } from '../stage.js';

/*
 * A serving part's ids file (a routed partition, a graph group): the rows it
 * holds come from many shards, so it carries each row's external id, sorted
 * by row id (a server looks them up by binary search; search/shard-server.ts).
 */

const IDS_SCHEMA = new Schema([new Field('rowId', new Int64(), false), new Field('externalId', new Utf8(), false)]);
const IDS_BATCH_ROWS = 65_536;

/**
 * `rowIds[i]`'s external id is `externalIds[i]`; written sorted by row id. Parallel arrays, not a Map: a part
 * can hold more rows than a Map's 2^24 entries.
 */
export function writePartitionIds(path: string, rowIds: readonly bigint[], externalIds: readonly string[]): void {
  if (rowIds.length !== externalIds.length) throw new Error(`${rowIds.length} row ids for ${externalIds.length} external ids`);
  const order = Uint32Array.from({ length: rowIds.length }, (_, i) => i).sort((a, b) => (rowIds[a]! < rowIds[b]! ? -1 : rowIds[a]! > rowIds[b]! ? 1 : 0));
  const writer = new ShardFileWriter(path, IDS_SCHEMA);
  try {
    for (let from = 0; from === 0 || from < order.length; from += IDS_BATCH_ROWS) {
      const slice = order.subarray(from, from + IDS_BATCH_ROWS);
      const table = new Table({
        rowId: makeVector(BigInt64Array.from(slice, (i) => rowIds[i]!)),
        externalId: vectorFromArray(
          Array.from(slice, (i) => externalIds[i]!),
          new Utf8(),
        ),
      });
      for (const batch of table.batches) writer.write(new RecordBatch(IDS_SCHEMA, batch.data));
    }
    writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
}

/**
 * A serving part's two files for one index (a routed partition, a graph group): the index and its ids file,
 * as the pool result lists them (`<name>.faiss`, `<name>.ids.arrow`).
 */
export async function saveServingPart(
  workDir: string,
  name: string,
  index: FaissIndex,
  rowIds: readonly bigint[],
  externalIds: readonly string[],
  buildMs: number,
): Promise<PoolResult['files']> {
  const indexPath = join(workDir, `${name}.faiss`);
  await index.save(indexPath);
  const idsPath = join(workDir, `${name}.ids.arrow`);
  writePartitionIds(idsPath, rowIds, externalIds);
  return [
    { path: indexPath, role: `faiss:${name}`, name: `${name}.faiss`, buildMs },
    { path: idsPath, role: `ids:${name}`, name: `${name}.ids.arrow` },
  ];
}
