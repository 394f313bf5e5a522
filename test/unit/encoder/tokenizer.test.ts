import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicTokenize, SPECIAL_TOKENS, TokenizerError, VocabBuilder, WordPieceTokenizer } from '../../../encoder/tokenizer/index.js';
import { tempDir } from '../../support/paths.js';

test('basic tokenization: lowercase, accents stripped, punctuation split, CJK spaced, controls dropped', () => {
  assert.deepEqual(basicTokenize('Hello, World!'), ['hello', ',', 'world', '!']);
  assert.deepEqual(basicTokenize('Café  naïve\tRÉSUMÉ'), ['cafe', 'naive', 'resume']);
  assert.deepEqual(basicTokenize("don't stop-me\u0007"), ['don', "'", 't', 'stop', '-', 'me']);
  assert.deepEqual(basicTokenize('北京大学'), ['北', '京', '大', '学']);
  assert.deepEqual(basicTokenize('Keep Case', { lowercase: false }), ['Keep', 'Case']);
});

test('WordPiece: greedy longest match from the left, ## continuations, [UNK] for the unsplittable', (t) => {
  // The example of the BERT paper's tokenizer: "unaffable" → un ##aff ##able.
  const vocab = [...SPECIAL_TOKENS, 'un', '##aff', '##able', 'runn', '##ing', 'run', ',', 'the', 'a', '##b'];
  const path = join(tempDir(t), 'vocab.txt');
  writeFileSync(path, `${vocab.join('\n')}\n`);
  const tok = WordPieceTokenizer.fromVocabFile(path);
  assert.equal(tok.size, vocab.length);
  assert.deepEqual(tok.tokenize('unaffable'), ['un', '##aff', '##able']);
  assert.deepEqual(tok.tokenize('Running, the unaffable'), ['runn', '##ing', ',', 'the', 'un', '##aff', '##able']);
  assert.deepEqual(tok.tokenize('xyz running'), ['[UNK]', 'runn', '##ing']);
  // Greedy: the longest first piece wins even when a shorter one would let the rest match.
  assert.deepEqual(tok.tokenize('ab abc'), ['a', '##b', '[UNK]']);
  const encoded = tok.encode('the running', 6);
  assert.deepEqual([...encoded.ids], [tok.cls, vocab.indexOf('the'), vocab.indexOf('runn'), vocab.indexOf('##ing'), tok.sep, tok.pad]);
  assert.deepEqual([...encoded.mask], [1, 1, 1, 1, 1, 0]);
  assert.equal(encoded.length, 5);
  // Truncation keeps [CLS] and [SEP].
  assert.deepEqual([...tok.encode('the the the the', 4).ids], [tok.cls, vocab.indexOf('the'), vocab.indexOf('the'), tok.sep]);
  assert.throws(
    () => new WordPieceTokenizer(['a', 'b']),
    (e: unknown) => e instanceof TokenizerError && /no \[PAD\] token/.test(e.message),
  );
  assert.throws(() => WordPieceTokenizer.fromVocabFile(join(tempDir(t), 'missing.txt')), TokenizerError);
});

test('the vocabulary builder merges frequent pairs, deterministically, and covers every training word', () => {
  const corpus = ['the runner is running', 'running runs', 'the run', 'lower lowest low', 'newest newer new'];
  const build = () => {
    const builder = new VocabBuilder();
    for (const text of corpus) builder.addText(text);
    return builder.build({ size: 40, minFrequency: 2 });
  };
  const vocab = build();
  assert.deepEqual(vocab, build(), 'same corpus, same vocabulary');
  assert.deepEqual(vocab.slice(0, 5), [...SPECIAL_TOKENS]);
  assert.ok(vocab.includes('run'), 'the most frequent stem became a piece');
  assert.ok(vocab.includes('##n') && vocab.includes('r'), 'the alphabet stays');
  assert.ok(vocab.length <= 40);
  const tok = new WordPieceTokenizer(vocab);
  for (const text of corpus) assert.ok(!tok.tokenize(text).includes('[UNK]'), text);
  assert.ok(tok.tokenize('running').length < 'running'.length, 'merged pieces are used');
});

test('stemming: inflections become one word before WordPiece, in the vocabulary and in tokenization', () => {
  const builder = new VocabBuilder({ stem: true });
  for (const text of ['the rackets and racket', 'running runs', 'run', 'cars4 cars4']) builder.addText(text);
  const vocab = builder.build({ size: 60, minFrequency: 1 });
  const tok = new WordPieceTokenizer(vocab, { stem: true });
  assert.equal(tok.stem, true);
  assert.deepEqual(tok.tokenize('Rackets'), tok.tokenize('racket'));
  assert.deepEqual(tok.tokenize('running'), tok.tokenize('run'));
  assert.ok(tok.tokenize('cars4').join('').replace(/#/g, '') === 'cars4', 'a word with digits is not stemmed');
  assert.notDeepEqual(new WordPieceTokenizer(vocab).tokenize('rackets'), tok.tokenize('rackets'), 'off: the plural keeps its s');
});
