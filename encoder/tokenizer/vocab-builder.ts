import { basicTokenize, stemWord } from './basic-tokenizer.js';
import { SPECIAL_TOKENS } from './wordpiece.js';
import { TokenizerError } from './errors.js';

/*
 * Learns a WordPiece vocabulary from a corpus, for models trained from
 * scratch. Words (after BERT's basic tokenization) start as characters, the
 * non-initial ones marked "##"; the most frequent adjacent pair (weighted by
 * word frequency, ties broken by the pieces' text so the result is
 * deterministic) is merged into a new piece until the vocabulary is full or
 * no pair occurs `minFrequency` times — byte-pair-style merges, the way
 * common WordPiece trainers build vocabularies. Every character seen stays
 * in the vocabulary, so any training word tokenizes without [UNK].
 */

export interface VocabBuilderOptions {
  /** Vocabulary size including special tokens and the alphabet. @defaultValue 8000 */
  size?: number;
  /** Stop merging below this pair frequency. @defaultValue 2 */
  minFrequency?: number;
  lowercase?: boolean;
}

const SEP = '\u0000';

export class VocabBuilder {
  private readonly words = new Map<string, number>();
  private readonly lowercase: boolean;
  private readonly stem: boolean;

  constructor(options: { lowercase?: boolean; stem?: boolean } = {}) {
    this.lowercase = options.lowercase ?? true;
    this.stem = options.stem ?? false;
  }

  addText(text: string): void {
    for (const raw of basicTokenize(text, { lowercase: this.lowercase })) {
      const word = this.stem ? stemWord(raw) : raw;
      this.words.set(word, (this.words.get(word) ?? 0) + 1);
    }
  }

  build(options: VocabBuilderOptions = {}): string[] {
    const size = options.size ?? 8000;
    const minFrequency = options.minFrequency ?? 2;
    if (size < SPECIAL_TOKENS.length + 1) throw new TokenizerError(`vocabulary size ${size} is too small`);
    const entries = [...this.words.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const symbols: string[][] = entries.map(([word]) => [...word].map((ch, i) => (i === 0 ? ch : `##${ch}`)));
    const freqs = entries.map(([, f]) => f);

    const vocab = new Set<string>();
    const tokens: string[] = [...SPECIAL_TOKENS];
    const addToken = (t: string) => {
      if (!vocab.has(t)) {
        vocab.add(t);
        tokens.push(t);
      }
    };
    for (const t of SPECIAL_TOKENS) vocab.add(t);
    [...new Set(symbols.flat())].sort().forEach(addToken);

    const pairCounts = new Map<string, number>();
    const pairWords = new Map<string, Set<number>>();
    const addPairs = (w: number, sign: 1 | -1) => {
      const s = symbols[w]!;
      for (let i = 0; i + 1 < s.length; i++) {
        const key = `${s[i]}${SEP}${s[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * freqs[w]!);
        if (sign === 1) {
          let set = pairWords.get(key);
          if (!set) pairWords.set(key, (set = new Set()));
          set.add(w);
        }
      }
    };
    symbols.forEach((_, w) => addPairs(w, 1));

    while (tokens.length < size) {
      let best: string | null = null;
      let bestCount = 0;
      for (const [key, count] of pairCounts) {
        if (count > bestCount || (count === bestCount && best !== null && key < best)) {
          best = key;
          bestCount = count;
        }
      }
      if (best === null || bestCount < minFrequency) break;
      const [a, b] = best.split(SEP) as [string, string];
      const merged = a + b.replace(/^##/, '');
      addToken(merged);
      for (const w of pairWords.get(best) ?? []) {
        addPairs(w, -1);
        const s = symbols[w]!;
        const out: string[] = [];
        for (let i = 0; i < s.length; i++) {
          if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
            out.push(merged);
            i += 1;
          } else {
            out.push(s[i]!);
          }
        }
        symbols[w] = out;
        addPairs(w, 1);
      }
      pairCounts.delete(best);
      pairWords.delete(best);
    }
    return tokens;
  }
}
