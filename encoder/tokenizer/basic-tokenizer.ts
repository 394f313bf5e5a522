import { stemmer } from 'stemmer';
/*
 * BERT's "basic" tokenization, before WordPiece: drop control characters,
 * normalise whitespace, put spaces around CJK ideographs, lowercase and strip
 * accents (uncased models), split off every punctuation character.
 */

export interface BasicTokenizerOptions {
  /** Uncased models: lowercase and strip accents. @defaultValue true */
  lowercase?: boolean;
  /** Strip accents (NFD, drop combining marks); HF's BertNormalizer strip_accents. @defaultValue the value of `lowercase` */
  stripAccents?: boolean;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are stripped from text.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ufffd]/gu;
const MARKS = /\p{Mn}/gu;

function isPunctuation(code: number): boolean {
  // BERT treats every non-alphanumeric ASCII symbol as punctuation, plus Unicode P*.
  if ((code >= 33 && code <= 47) || (code >= 58 && code <= 64) || (code >= 91 && code <= 96) || (code >= 123 && code <= 126)) return true;
  return /\p{P}/u.test(String.fromCodePoint(code));
}

function isCjk(code: number): boolean {
  return (
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x20000 && code <= 0x2a6df) ||
    (code >= 0x2a700 && code <= 0x2b73f) ||
    (code >= 0x2b740 && code <= 0x2b81f) ||
    (code >= 0x2b820 && code <= 0x2ceaf) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0x2f800 && code <= 0x2fa1f)
  );
}

export function basicTokenize(text: string, options: BasicTokenizerOptions = {}): string[] {
  let clean = text.replace(CONTROL, '').replace(/\s/gu, ' ');
  let spaced = '';
  for (const ch of clean) {
    const code = ch.codePointAt(0)!;
    spaced += isCjk(code) ? ` ${ch} ` : ch;
  }
  clean = spaced;
  const lowercase = options.lowercase ?? true;
  if (lowercase) clean = clean.toLowerCase();
  if (options.stripAccents ?? lowercase) clean = clean.normalize('NFD').replace(MARKS, '');
  const tokens: string[] = [];
  for (const word of clean.split(' ')) {
    if (word === '') continue;
    let current = '';
    for (const ch of word) {
      if (isPunctuation(ch.codePointAt(0)!)) {
        if (current !== '') tokens.push(current);
        tokens.push(ch);
        current = '';
      } else {
        current += ch;
      }
    }
    if (current !== '') tokens.push(current);
  }
  return tokens;
}

const stems = new Map<string, string>();

/** Porter stem of a lowercase word of letters (other tokens pass through): the BM25 analyzer's normalisation. */
export function stemWord(word: string): string {
  let stem = stems.get(word);
  if (stem === undefined) {
    stem = /^\p{L}+$/u.test(word) ? stemmer(word) : word;
    if (stems.size < 1_000_000) stems.set(word, stem);
  }
  return stem;
}
