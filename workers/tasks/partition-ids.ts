import { Field, Int64, makeVector, RecordBatch, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { ShardFileWriter } from '../../shards/index.js';

/*
 * A serving part's ids file (a routed partition, a graph group): the rows it
 * holds come from many shards, so it carries each row's external id, sorted
 * by row id (a server looks them up by binary search; search/shard-server.ts).
 */

const IDS_SCHEMA = new Schema([new Field('rowId', new Int64(), false), new Field('externalId', new Utf8(), false)]);
const IDS_BATCH_ROWS = 65_536;

export function writePartitionIds(path: string, rows: bigint[], externalIdOf: (row: bigint) => string): void {
  rows.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const writer = new ShardFileWriter(path, IDS_SCHEMA);
  try {
    for (let from = 0; from === 0 || from < rows.length; from += IDS_BATCH_ROWS) {
      const slice = rows.slice(from, from + IDS_BATCH_ROWS);
      const table = new Table({
        rowId: makeVector(BigInt64Array.from(slice)),
        externalId: vectorFromArray(slice.map(externalIdOf), new Utf8()),
      });
      for (const batch of table.batches) writer.write(new RecordBatch(IDS_SCHEMA, batch.data));
    }
    writer.commit();
  } catch (err) {
    writer.abort();
    throw err;
  }
}
