#!/usr/bin/env bash
# The main job on the embedded default, on one machine with nothing
# configured: a private local cluster (nats-server with TLS and per-role
# nkeys, a coordinator, two workers), the built-in WordNet corpus ingested
# into 4 Arrow shards, the encoder trained briefly with `sci train`'s
# defaults (fast model, shared towers, d = 256, InfoNCE, IDF pooling; the
# hashed TF-IDF baseline measured on the same dev pool), the corpus encoded
# by an encode job with the best checkpoint, Flat, IVF, IVF-PQ, HNSW, PQ, LSH
# and BM25 built on every shard by an index job (IVF served at the nprobe it
# picks: 0.9 overlap with exact search on a held-out sample), two shard
# server processes and the API, one ad-hoc query (each hit with its passage,
# read from the Arrow shard by row id), and the dev queries evaluated through
# scatter-gather into report.html/json (with the trained model's Flat row fused
# with BM25: the hybrid row); last, one line on what the three-stage pipeline
# measured, from its result record.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath -m "${SCI_DEMO_OUT:-.sci/demo}")"
export SCI_CLUSTER__DIR="$OUT/cluster"
# Every file of the demo lives under $OUT: the storage root, outside which no key resolves.
export SCI_STORAGE__ROOT="${SCI_STORAGE__ROOT:-$OUT}"
export SCI_LOG__LEVEL="${SCI_LOG__LEVEL:-warn}"
# Knobs for a lighter run (the e2e test): training steps, embedding dimension, dev pool and dev queries of
# training's evaluation (default sci train's), dev queries evaluated (default all), queries per sweep point
# and single-query latency requests.
STEPS="${SCI_DEMO_TRAIN_STEPS:-1000}"
TRAIN_KNOBS=()
[ -n "${SCI_DEMO_DIM:-}" ] && TRAIN_KNOBS=(--dim "$SCI_DEMO_DIM")
[ -n "${SCI_DEMO_POOL:-}" ] && TRAIN_KNOBS+=(--pool-size "$SCI_DEMO_POOL")
[ -n "${SCI_DEMO_TRAIN_EVAL_QUERIES:-}" ] && TRAIN_KNOBS+=(--eval-queries "$SCI_DEMO_TRAIN_EVAL_QUERIES")
SWEEP_QUERIES="${SCI_DEMO_SWEEP_QUERIES:-1000}"
LATENCY_QUERIES="${SCI_DEMO_LATENCY_QUERIES:-200}"
EVAL_LIMIT=()
[ -n "${SCI_DEMO_EVAL_QUERIES:-}" ] && EVAL_LIMIT=(--max-queries "$SCI_DEMO_EVAL_QUERIES")
sci() { node bin/sci.js "$@"; }
started=$(date +%s)

rm -rf "$OUT"
mkdir -p "$OUT"
trap 'sci cluster down --clean >/dev/null 2>&1 || true' EXIT

echo "== 1. local cluster: nats-server (JetStream, loopback), coordinator, 2 workers"
sci cluster up --workers 2
echo
echo "== 2. ingest the built-in WordNet corpus into 4 Arrow shards"
sci ingest --format wordnet --shards 4 --out "$OUT/passages"
sci shards verify "$OUT/passages"
echo
echo "== 3. train the encoder briefly ($STEPS steps, sci train's defaults), against the baseline on the same dev pool"
sci train --shards "$OUT/passages" --out "$OUT/model" --steps "$STEPS" --eval-every "$STEPS" "${TRAIN_KNOBS[@]}" --baseline
echo
echo "== 4. encode job with the trained checkpoint, one task per shard"
sci job submit --kind encode --input "$OUT/passages" --output "$OUT/embeddings" --model "$OUT/model/best" --wait
echo
echo "== 5. index job: Flat, IVF, IVF-PQ, HNSW, PQ, LSH and BM25 on every shard"
sci job submit --kind index --input "$OUT/embeddings" --output "$OUT/indexes" \
  --index flat=Flat:ip --index ivf=IVF64,Flat:ip --index ivfpq=IVF64,PQ16:ip --index hnsw=HNSW32,Flat:ip \
  --index pq=PQ16:ip --index lsh=LSH256:l2 --bm25 "$OUT/passages" --wait
echo
echo "== 6. shard servers (2 processes, 2 shards each) and the query API"
# Any free ports for the API unless configured (the summary prints them).
SCI_API__REPORTS="${SCI_API__REPORTS:-$OUT}" SCI_API__PORT="${SCI_API__PORT:-0}" SCI_API__GRPC_PORT="${SCI_API__GRPC_PORT:-0}" sci cluster serve --index-set "$OUT/indexes" --processes 2 --api
echo
echo "== 7. an ad-hoc query through the same shard servers"
sci search --index-set "$OUT/indexes" --index hnsw --k 5 "the dog barked all night"
echo
echo "== 8. evaluate the dev queries through scatter-gather (quality, latency, distance counts, sweeps)"
echo "   flat: the model trained in step 3, exact search over the whole corpus; hybrid: flat and BM25 fused by reciprocal rank"
sci eval --index-set "$OUT/indexes" --queries "$OUT/passages" --split dev --out "$OUT/report" --k 100 --hybrid flat \
  --latency-queries "$LATENCY_QUERIES" --sweep-queries "$SWEEP_QUERIES" --run "$OUT/report/run.trec" "${EVAL_LIMIT[@]}"
echo
sci results headline
echo
echo "Done in $(( $(date +%s) - started )) s. Report: $OUT/report/report.html (and report.json)"
