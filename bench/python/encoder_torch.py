#!/usr/bin/env python3
"""PyTorch CPU baseline of bench/encoder: a sci-cluster transformer checkpoint's
tower (pre-LayerNorm blocks, tanh GELU, masked mean pooling, projection, L2
normalisation, as encoder/model/transformer-tower.ts) rebuilt in torch from the
checkpoint's weights.bin, run under torch.inference_mode on the bench's token
ids with the given threads. Prints one JSON line: passages/s and the first
rows' vectors (the bench compares them with ONNX Runtime's: same weights).

    /usr/bin/python3 bench/python/encoder_torch.py CHECKPOINT IDS_FILE BATCH LENGTH THREADS SECONDS
"""

import json
import math
import os
import sys
import time

import torch


def main():
    checkpoint, ids_file, batch, length, threads, seconds = sys.argv[1:7]
    batch, length, threads, seconds = int(batch), int(length), int(threads), float(seconds)
    torch.set_num_threads(threads)
    card = json.load(open(os.path.join(checkpoint, "model-card.json")))
    arch = card["architecture"]
    raw = open(os.path.join(checkpoint, card["weights"]["file"]), "rb").read()
    weights = {}
    for spec in card["weights"]["tensors"]:
        count = math.prod(spec["shape"])
        t = torch.frombuffer(bytearray(raw[spec["offset"] : spec["offset"] + 4 * count]), dtype=torch.float32)
        weights[spec["name"]] = t.reshape(spec["shape"])
    tower = "shared" if arch["towers"] == "shared" else "item"
    w = lambda name: weights[f"{tower}/{name}"]
    width, heads, layers = arch["width"], arch["heads"], arch["layers"]
    head = width // heads

    def encode(ids, mask):
        b, l = ids.shape
        x = w("embeddings")[ids] + w("positions")[:l]
        key_bias = (1.0 - mask.float())[:, None, None, :] * -1e9
        ln = lambda t, p: torch.nn.functional.layer_norm(t, (width,), w(f"{p}/gamma"), w(f"{p}/beta"), 1e-5)
        dense = lambda t, p: t @ w(f"{p}/kernel") + w(f"{p}/bias")
        split = lambda t: t.view(b, l, heads, head).transpose(1, 2)
        for i in range(layers):
            p = f"layer{i}"
            h = ln(x, f"{p}/ln1")
            q, k, v = split(dense(h, f"{p}/attn/q")), split(dense(h, f"{p}/attn/k")), split(dense(h, f"{p}/attn/v"))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head) + key_bias, dim=-1)
            x = x + dense((att @ v).transpose(1, 2).reshape(b, l, width), f"{p}/attn/o")
            x = x + dense(torch.nn.functional.gelu(dense(ln(x, f"{p}/ln2"), f"{p}/ffn/in"), approximate="tanh"), f"{p}/ffn/out")
        x = ln(x, "ln")
        m = mask.float().unsqueeze(-1)
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-6)
        return torch.nn.functional.normalize(dense(pooled, "proj"), dim=-1, eps=1e-12)

    ids = torch.frombuffer(bytearray(open(ids_file, "rb").read()), dtype=torch.int32).long().reshape(batch, length)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        first = encode(ids, mask)  # warm-up, and the vectors compared with the other engines
        runs, started = 0, time.perf_counter()
        while runs < 1 or time.perf_counter() - started < seconds:
            encode(ids, mask)
            runs += 1
        elapsed = time.perf_counter() - started
    print(json.dumps({"passagesPerSecond": runs * batch / elapsed, "firstRows": first[:4].reshape(-1).tolist(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
