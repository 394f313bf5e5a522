import { readFileSync } from 'node:fs';
import { basicTokenize, stemWord } from './basic-tokenizer.js';
import { TokenizerError } from './errors.js';

/*
 * WordPiece as BERT uses it: basic tokenization, then each word split greedily
 * into the longest vocabulary pieces from the left, continuation pieces
 * prefixed with "##"; a word that cannot be split is [UNK]. Reads a BERT
 * `vocab.txt` (one token per line, id = line number), so converted
 * bge-small / BERT vocabularies work as they are.
 */

export interface WordPieceOptions {
  lowercase?: boolean;
  /** @defaultValue the value of `lowercase` (BERT's uncased models strip accents, cased ones keep them) */
  stripAccents?: boolean;
  /** Porter-stem every word before splitting it (inflections share pieces, as in the BM25 analyzer). @defaultValue false */
  stem?: boolean;
  /** Words longer than this become [UNK]. @defaultValue 100 */
  maxCharsPerWord?: number;
}

export interface Encoded {
  /** Token ids, [CLS] … [SEP], padded with [PAD] to the requested length. */
  ids: Int32Array;
  /** 1 for real tokens, 0 for padding. */
  mask: Int32Array;
  /** Real tokens (including [CLS] and [SEP]). */
  length: number;
}

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

export class WordPieceTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  readonly tokens: readonly string[];
  readonly pad: number;
  readonly unk: number;
  readonly cls: number;
  readonly sep: number;
  private readonly lowercase: boolean;
  private readonly stripAccents: boolean;
  readonly stem: boolean;
  private readonly maxCharsPerWord: number;
  private readonly cache = new Map<string, number[]>();

  constructor(tokens: readonly string[], options: WordPieceOptions = {}) {
    this.tokens = tokens;
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => {
      if (!vocab.has(t)) vocab.set(t, i);
    });
    this.vocab = vocab;
    const special = (name: string) => {
      const id = vocab.get(name);
      if (id === undefined) throw new TokenizerError(`vocabulary has no ${name} token`);
      return id;
    };
    this.pad = special('[PAD]');
    this.unk = special('[UNK]');
    this.cls = special('[CLS]');
    this.sep = special('[SEP]');
    this.lowercase = options.lowercase ?? true;
    this.stripAccents = options.stripAccents ?? this.lowercase;
    this.stem = options.stem ?? false;
    this.maxCharsPerWord = options.maxCharsPerWord ?? 100;
  }

  static fromVocabFile(path: string, options: WordPieceOptions = {}): WordPieceTokenizer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TokenizerError(`cannot read vocabulary: ${(err as Error).message}`, { file: path, cause: err });
    }
    const tokens = text.split('\n').map((l) => l.replace(/\r$/, ''));
    if (tokens[tokens.length - 1] === '') tokens.pop();
    try {
      return new WordPieceTokenizer(tokens, options);
    } catch (err) {
      throw new TokenizerError((err as Error).message, { file: path, cause: err });
    }
  }

  get size(): number {
    return this.tokens.length;
  }

  /** Token pieces of a text (no [CLS] / [SEP]). */
  tokenize(text: string): string[] {
    return this.pieceIds(text).map((id) => this.tokens[id]!);
  }

  pieceIds(text: string): number[] {
    const out: number[] = [];
    for (const word of basicTokenize(text, { lowercase: this.lowercase, stripAccents: this.stripAccents })) out.push(...this.wordPieces(word));
    return out;
  }

  /** [CLS] pieces [SEP], truncated and padded to `maxLength`. */
  encode(text: string, maxLength: number): Encoded {
    if (maxLength < 2) throw new TokenizerError(`maxLength must be at least 2, got ${maxLength}`);
    const pieces = this.pieceIds(text).slice(0, maxLength - 2);
    const ids = new Int32Array(maxLength).fill(this.pad);
    const mask = new Int32Array(maxLength);
    ids[0] = this.cls;
    pieces.forEach((id, i) => (ids[i + 1] = id));
    ids[pieces.length + 1] = this.sep;
    mask.fill(1, 0, pieces.length + 2);
    return { ids, mask, length: pieces.length + 2 };
  }

  private wordPieces(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const chars = [...(this.stem ? stemWord(word) : word)];
    let pieces: number[] = [];
    if (chars.length > this.maxCharsPerWord) {
      pieces = [this.unk];
    } else {
      let start = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found = -1;
        while (start < end) {
          const piece = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
          const id = this.vocab.get(piece);
          if (id !== undefined) {
            found = id;
            break;
          }
          end -= 1;
        }
        if (found === -1) {
          pieces = [this.unk];
          break;
        }
        pieces.push(found);
        start = end;
      }
    }
    if (this.cache.size < 500_000) this.cache.set(word, pieces);
    return pieces;
  }
}
