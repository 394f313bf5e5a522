import { stemmer } from 'stemmer';

/*
 * An English analyzer close to Lucene's EnglishAnalyzer (what Anserini /
 * Pyserini index BEIR with): word tokens (Unicode letters and digits, with
 * inner apostrophes and periods kept, approximating StandardTokenizer's
 * UAX#29 rules), possessive 's removed, lowercased, Lucene's English stop
 * words removed, Porter stemming (the `stemmer` package implements Porter's
 * 1980 algorithm, as Lucene's PorterStemFilter does).
 */

export const ANALYZER_VERSION = 'sci-english@1';

/** Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET. */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'but',
  'by',
  'for',
  'if',
  'in',
  'into',
  'is',
  'it',
  'no',
  'not',
  'of',
  'on',
  'or',
  'such',
  'that',
  'the',
  'their',
  'then',
  'there',
  'these',
  'they',
  'this',
  'to',
  'was',
  'will',
  'with',
]);

const TOKEN = /[\p{L}\p{N}\p{M}]+(?:['’.][\p{L}\p{N}\p{M}]+)*/gu;
/** StandardTokenizer's default maximum token length. */
const MAX_TOKEN_CHARS = 255;

export class EnglishAnalyzer {
  private readonly stems = new Map<string, string>();

  /** Terms of `text` in order (stop words dropped). */
  analyze(text: string): string[] {
    const terms: string[] = [];
    for (const match of text.matchAll(TOKEN)) {
      let token = match[0];
      if (token.length > MAX_TOKEN_CHARS) continue;
      // EnglishPossessiveFilter: trailing 's / ’s.
      const last = token.length - 2;
      if (last > 0 && (token[last] === "'" || token[last] === '’') && (token[last + 1] === 's' || token[last + 1] === 'S')) token = token.slice(0, last);
      token = token.toLowerCase();
      if (ENGLISH_STOP_WORDS.has(token)) continue;
      terms.push(this.stem(token));
    }
    return terms;
  }

  private stem(token: string): string {
    let stem = this.stems.get(token);
    if (stem === undefined) {
      // Porter works on letters only; tokens with digits or apostrophes pass through.
      stem = /^\p{L}+$/u.test(token) ? stemmer(token) : token;
      if (this.stems.size < 1_000_000) this.stems.set(token, stem);
    }
    return stem;
  }
}
