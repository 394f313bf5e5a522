import { readFileSync } from 'node:fs';
import { TokenizerError } from './errors.js';
import { WordPieceTokenizer } from './wordpiece.js';

/*
 * Hugging Face `tokenizer.json` files of the WordPiece kind (BERT, DPR, e5,
 * bge, MiniLM, Contriever): the vocabulary comes from model.vocab, lowercasing
 * and accent stripping from the BERT normalizer. Other model types (BPE,
 * Unigram, WordLevel) would give different pieces from the same text, so they
 * are refused rather than approximated.
 */

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
  normalizer?: Normalizer | null;
}

interface Normalizer {
  type?: string;
  lowercase?: boolean;
  strip_accents?: boolean | null;
  normalizers?: Normalizer[];
}

export const SUPPORTED_TOKENIZERS = 'WordPiece (a BERT vocab.txt, or a tokenizer.json whose model.type is "WordPiece")';

export function wordPieceFromTokenizerJson(file: string): WordPieceTokenizer {
  let json: TokenizerJson;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as TokenizerJson;
  } catch (err) {
    throw new TokenizerError(`cannot read tokenizer.json: ${(err as Error).message}`, { file, cause: err });
  }
  const model = json.model;
  const type = model?.type ?? (model?.vocab ? 'WordPiece' : undefined);
  if (type !== 'WordPiece')
    throw new TokenizerError(`tokenizer model type ${type ?? '(none)'} is not supported: supported is ${SUPPORTED_TOKENIZERS}`, { file, field: 'model.type' });
  if (!model?.vocab || typeof model.vocab !== 'object') throw new TokenizerError('tokenizer.json has no model.vocab', { file, field: 'model.vocab' });
  if ((model.continuing_subword_prefix ?? '##') !== '##')
    throw new TokenizerError(`continuing_subword_prefix ${model.continuing_subword_prefix} is not supported (BERT's is ##)`, {
      file,
      field: 'model.continuing_subword_prefix',
    });
  const entries = Object.entries(model.vocab);
  const tokens = new Array<string>(entries.length);
  for (const [token, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id >= entries.length || tokens[id] !== undefined)
      throw new TokenizerError(`model.vocab ids must be 0..${entries.length - 1}, each once: ${JSON.stringify(token)} has ${id}`, {
        file,
        field: 'model.vocab',
      });
    tokens[id] = token;
  }
  try {
    return new WordPieceTokenizer(tokens, { ...normalization(json.normalizer ?? null), maxCharsPerWord: model.max_input_chars_per_word ?? 100 });
  } catch (err) {
    throw new TokenizerError((err as Error).message, { file, cause: err });
  }
}

/**
 * Lowercasing and accent stripping as the normalizer does them: BertNormalizer's `lowercase` (default
 * true) and `strip_accents` (null: follows lowercase), or Lowercase / StripAccents steps of a Sequence.
 */
function normalization(normalizer: Normalizer | null): { lowercase: boolean; stripAccents: boolean } {
  if (!normalizer) return { lowercase: false, stripAccents: false };
  if (normalizer.type === 'BertNormalizer') {
    const lowercase = normalizer.lowercase ?? true;
    return { lowercase, stripAccents: normalizer.strip_accents ?? lowercase };
  }
  const steps = normalizer.type === 'Sequence' ? (normalizer.normalizers ?? []) : [normalizer];
  const nested = steps.filter((n) => n.type === 'BertNormalizer' || n.type === 'Sequence').map(normalization);
  return {
    lowercase: steps.some((n) => n.type === 'Lowercase') || nested.some((n) => n.lowercase),
    stripAccents: steps.some((n) => n.type === 'StripAccents') || nested.some((n) => n.stripAccents),
  };
}
