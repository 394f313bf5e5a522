import { IdFingerprintSet } from './id-fingerprint-set.js';
import { readManifest, verifyShardChecksums, type Manifest } from './manifest.js';
import { readShardBatches } from './shard-reader.js';
import { ShardFormatError } from './errors.js';

export interface VerifyReport {
  manifestPath: string;
  shards: number;
  rows: number;
  rowsIn: number;
  rowsRejected: number;
}

/**
 * Full check of a shard set: manifest schema and accounting, every shard's
 * sha256, and every row: row ids exactly the shard's range in order, external
 * ids unique across the set.
 */
export async function verifyShardSet(pathOrDir: string, options: { signal?: AbortSignal } = {}): Promise<VerifyReport> {
  const { manifest, dir, path } = readManifest(pathOrDir);
  await verifyShardChecksums(manifest, dir);
  const ids = new IdFingerprintSet(manifest.rowsWritten);
  let rows = 0;
  for (const shard of manifest.shards) {
    let expected = shard.firstRowId;
    for await (const batch of readShardBatches(dir, shard, options)) {
      const rowIds = batch.getChild('rowId')!.toArray() as BigInt64Array;
      const externalIds = batch.getChild('externalId')!;
      for (let i = 0; i < batch.numRows; i++) {
        if (Number(rowIds[i]) !== expected)
          throw new ShardFormatError(`shard ${shard.id}: row ${rows} has rowId ${rowIds[i]}, expected ${expected}`, { file: shard.path });
        const id = externalIds.get(i) as string;
        if (!ids.add(id)) throw new ShardFormatError(`shard ${shard.id}: external id ${JSON.stringify(id)} appears twice`, { file: shard.path });
        expected += 1;
        rows += 1;
      }
    }
    if (expected !== shard.firstRowId + shard.rows)
      throw new ShardFormatError(`shard ${shard.id} holds ${expected - shard.firstRowId} rows, manifest says ${shard.rows}`, { file: shard.path });
  }
  return { manifestPath: path, shards: manifest.shards.length, rows, rowsIn: manifest.rowsIn, rowsRejected: manifest.rowsRejected };
}

export type { Manifest };
