export { basicTokenize, type BasicTokenizerOptions } from './basic-tokenizer.js';
export { WordPieceTokenizer, SPECIAL_TOKENS, type WordPieceOptions, type Encoded } from './wordpiece.js';
export { VocabBuilder, type VocabBuilderOptions } from './vocab-builder.js';
export { TokenizerError } from './errors.js';
export { wordPieceFromTokenizerJson, SUPPORTED_TOKENIZERS } from './tokenizer-json.js';
