import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom, tempPathFor } from '../common/index.js';
import { wordnetDictDir } from './ingest/wordnet.js';
import { loadSynsetGraph, neighbourhood, type SynsetGraph } from './synset-graph.js';

/*
 * A corpus shaped like DPR's psgs_w100.tsv, for scale runs on machines with
 * no network: `id<TAB>text<TAB>title`, every passage 100 words (the DPR
 * split), passages of one article sharing its title (articles of 1 + a
 * geometric number of passages, mean 6.6: 21M passages / 3.2M articles).
 * Words come from WordNet (the npm package the product ships), in one of two
 * kinds:
 *
 * - `synsets` (the default): an article is about one synset (its topic) and
 *   draws on the topic's neighbourhood (pointers, two hops: hypernyms,
 *   hyponyms, parts, similar words...). Each passage picks three facets from
 *   that neighbourhood and mixes runs of their glosses (real definitions and
 *   usage examples), their lemmas and background words, so passages of an
 *   article share topic words, articles on nearby synsets share vocabulary,
 *   and no two passages are alike. Queries are cut from passages and
 *   paraphrased through synonyms (synthetic-queries.ts).
 * - `zipf`: every word a WordNet lemma drawn at Zipf frequencies, no
 *   structure at all (what the corpus was before: it measures time and
 *   memory, nothing about ANN quality).
 *
 * Background words: WordNet's lemmas (about 147,000) at Zipf frequencies
 * (s = 1.07, English's), ranks given by a seeded shuffle; in `synsets` only
 * the commonest 1,000 ranks (running text's common words).
 * Seeded: the same kind, seed and rows give the same file. Written in blocks
 * to a temp name and renamed (or to standard output, for a pipe into
 * ingest): memory does not grow with the rows.
 */

export const SYNTHETIC_KINDS = ['synsets', 'zipf'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

export interface SyntheticCorpusOptions {
  rows: number;
  seed?: number;
  wordsPerPassage?: number;
  /** `synsets` (default): articles around WordNet synsets; `zipf`: unstructured Zipf words. */
  kind?: SyntheticKind;
}

/**
 * Background words of a structured passage: the commonest 1,000 ranks only, as running text's function
 * and common words. Rare words come from the topic (glosses, lemmas), so a passage's identity is its
 * facets, not random rare words that only exact term matching can use (with the whole vocabulary as
 * background, 1M passages: BM25 found the source of 92.9% of the queries, a trained dense encoder 35.0%).
 */
const COMMON_WORDS = 1_000;
/** Per segment of a structured passage: a run of a facet's gloss, else one of its lemmas, else background words. */
const GLOSS_RUN = 0.35;
const LEMMA = 0.15;

const ZIPF_S = 1.07;
const MEAN_ARTICLE_PASSAGES = 6.6;
/** Entries of the inverse-CDF table: a uniform draw picks a word in O(1). */
const TABLE_BITS = 22;
const BLOCK_BYTES = 8 << 20;

/** WordNet's lemmas (underscores as spaces dropped: one-word lemmas only, as running text has them). */
function wordnetVocabulary(): string[] {
  const words = new Set<string>();
  for (const pos of ['noun', 'verb', 'adj', 'adv']) {
    for (const line of readFileSync(join(wordnetDictDir(), `index.${pos}`), 'utf8').split('\n')) {
      if (line === '' || line.startsWith(' ')) continue;
      const lemma = line.slice(0, line.indexOf(' '));
      if (/^[a-z][a-z'-]*$/.test(lemma)) words.add(lemma);
    }
  }
  return [...words].sort();
}

/** Word index by uniform draw: a table over the Zipf CDF of the first `ranks` ranks (ranks shuffled by the seed). */
function zipfTable(vocabulary: number, random: () => number, ranks = vocabulary): Uint32Array {
  const rankToWord = Uint32Array.from({ length: vocabulary }, (_, i) => i);
  for (let i = vocabulary - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rankToWord[i], rankToWord[j]] = [rankToWord[j]!, rankToWord[i]!];
  }
  let total = 0;
  for (let r = 1; r <= ranks; r++) total += r ** -ZIPF_S;
  const table = new Uint32Array(1 << TABLE_BITS);
  let rank = 0;
  let cumulative = 1 / total;
  for (let t = 0; t < table.length; t++) {
    const u = (t + 0.5) / table.length;
    while (cumulative < u && rank < ranks - 1) cumulative += (++rank + 1) ** -ZIPF_S / total;
    table[t] = rankToWord[rank]!;
  }
  return table;
}

interface Article {
  title: string;
  /** The next passage's words. */
  passage: () => string[];
}

const capitalized = (text: string) => text.replace(/(^|\s)([a-z])/g, (_, space: string, c: string) => space + c.toUpperCase());

/** Unstructured articles: a title of 1–3 Zipf words, passages of Zipf words. */
function zipfArticles(random: () => number, word: () => string, perPassage: number): () => Article {
  return () => ({
    title: Array.from({ length: 1 + Math.floor(random() * 3) }, () => capitalized(word())).join(' '),
    passage: () => Array.from({ length: perPassage }, word),
  });
}

/** Articles around synsets: see the file's comment. */
function synsetArticles(graph: SynsetGraph, random: () => number, word: () => string, perPassage: number): () => Article {
  const { synsets } = graph;
  const topics = synsets.flatMap((s, i) => (s.neighbours.length > 0 && s.lemmas.length > 0 && s.gloss.length > 0 ? [i] : []));
  const pick = <T>(items: ArrayLike<T>): T => items[Math.floor(random() * items.length)]!;
  return () => {
    const topic = pick(topics);
    const hood = neighbourhood(graph, topic, random);
    // Disambiguated as Wikipedia does: "Mercury (planet)"; the qualifier is a neighbour's lemma.
    const qualifier = synsets[hood[1]!]?.lemmas[0];
    const title = capitalized(synsets[topic]!.lemmas[0]!) + (qualifier ? ` (${qualifier})` : '');
    return {
      title,
      passage: () => {
        const facets = [random() < 0.5 ? topic : pick(hood), pick(hood), pick(hood)].map((s) => synsets[s]!);
        const out: string[] = [];
        while (out.length < perPassage) {
          const r = random();
          const facet = pick(facets);
          if (r < GLOSS_RUN && facet.gloss.length > 0) {
            const length = 3 + Math.floor(random() * 6);
            const start = Math.floor(random() * Math.max(1, facet.gloss.length - length + 1));
            out.push(...facet.gloss.slice(start, start + length));
          } else if (r < GLOSS_RUN + LEMMA && facet.lemmas.length > 0) {
            out.push(...pick(facet.lemmas).split(' '));
          } else {
            for (let n = 1 + Math.floor(random() * 4); n > 0; n--) out.push(word());
          }
        }
        out.length = perPassage;
        return out;
      },
    };
  };
}

/** Writes every byte to `fd`, waiting out a full pipe (EAGAIN) rather than failing: a reader on the other end sets the pace. */
function writeAll(fd: number, text: string): number {
  const buffer = Buffer.from(text);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let at = 0; at < buffer.length;) {
    try {
      at += writeSync(fd, buffer, at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 5);
    }
  }
  return buffer.length;
}

/** The corpus's text in blocks of about BLOCK_BYTES, handed to `write` in order; returns the bytes written. */
function generateSyntheticCorpus(options: SyntheticCorpusOptions, write: (block: string) => number): number {
  if (!Number.isInteger(options.rows) || options.rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${options.rows}`);
  const random = seededRandom(options.seed ?? 1);
  const words = wordnetVocabulary();
  const kind = options.kind ?? 'synsets';
  const table = zipfTable(words.length, random, kind === 'synsets' ? COMMON_WORDS : words.length);
  const word = () => words[table[Math.floor(random() * table.length)]!]!;
  const perPassage = options.wordsPerPassage ?? 100;
  const articles =
    (options.kind ?? 'synsets') === 'synsets' ? synsetArticles(loadSynsetGraph(), random, word, perPassage) : zipfArticles(random, word, perPassage);
  let bytes = 0;
  let block = 'id\ttext\ttitle\n';
  let article: Article | null = null;
  let left = 0;
  for (let id = 1; id <= options.rows; id++) {
    if (left === 0) {
      article = articles();
      // 1 + geometric(p): mean 1 + (1 − p) / p = MEAN_ARTICLE_PASSAGES.
      left = 1 + Math.floor(Math.log(1 - random()) / Math.log(1 - 1 / MEAN_ARTICLE_PASSAGES));
    }
    left -= 1;
    block += `${id}\t${article!.passage().join(' ')}\t${article!.title}\n`;
    if (block.length >= BLOCK_BYTES) {
      bytes += write(block);
      block = '';
    }
  }
  return bytes + write(block);
}

/** Writes `options.rows` passages to `path` (a psgs_w100-shaped TSV with its header) through a temp name; returns the bytes written. */
export function writeSyntheticCorpus(path: string, options: SyntheticCorpusOptions): number {
  const temp = tempPathFor(path);
  const fd = openSync(temp, 'w');
  try {
    const bytes = generateSyntheticCorpus(options, (block) => writeAll(fd, block));
    closeSync(fd);
    renameSync(temp, path);
    return bytes;
  } catch (err) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw err;
  }
}

/**
 * The same passages written to an open descriptor (standard output: `sci generate passages --out -`), so a
 * pipe into `sci ingest --input -` puts no copy of the corpus on disk.
 */
export function streamSyntheticCorpus(fd: number, options: SyntheticCorpusOptions): number {
  return generateSyntheticCorpus(options, (block) => writeAll(fd, block));
}
