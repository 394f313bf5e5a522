import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readShardPassages, runIngest, TsvIngester, type Manifest, type Passage, type RejectedRow } from '../../shards/index.js';

/** Every passage of a shard set, in shard order. */
export async function allPassages(dir: string, manifest: Manifest): Promise<Passage[]> {
  const rows: Passage[] = [];
  for (const shard of manifest.shards) for await (const p of readShardPassages(dir, shard)) rows.push(p);
  return rows;
}

export function rejectedRows(dir: string, manifest: Manifest): RejectedRow[] {
  const text = readFileSync(join(dir, manifest.rejectedPath), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RejectedRow);
}

/** Default ingest knobs for tests. */
export const TEST_INGEST = { batchRows: 3, maxLineBytes: 4096, excerptChars: 40, strict: false } as const;

/** A generated psgs_w100-shaped TSV (sci generate passages) ingested into `shardCount` shards with the test knobs; its 100-word lines need longer lines than TEST_INGEST allows. */
export function ingestGeneratedTsv(tsv: string, outDir: string, shardCount: number): ReturnType<typeof runIngest> {
  return runIngest({ ingester: new TsvIngester(tsv), format: 'tsv', input: tsv, outDir, layout: { shardCount }, ...TEST_INGEST, maxLineBytes: 1 << 16 });
}
