#!/usr/bin/env bash
# The main job on the embedded default: a private local cluster (nats-server,
# a coordinator, two workers), the built-in WordNet corpus ingested into Arrow
# shards, encoded by the baseline encoder and indexed per shard with every
# index type and BM25, then a summary. Later stages (training, scatter-gather
# evaluation) join as they land.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="$(realpath -m "${SCI_DEMO_OUT:-.sci/demo}")"
export SCI_CLUSTER__DIR="$OUT/cluster"
export SCI_LOG__LEVEL="${SCI_LOG__LEVEL:-warn}"
sci() { node bin/sci.js "$@"; }

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
echo "== 3. encode job (baseline hashed TF-IDF encoder, 256-d): fit + encode, one task per shard"
sci job submit --kind encode --input "$OUT/passages" --output "$OUT/embeddings" --dim 256 --wait
echo
echo "== 4. index job: Flat, IVF, IVF-PQ, HNSW, PQ, LSH and BM25 on every shard"
sci job submit --kind index --input "$OUT/embeddings" --output "$OUT/indexes" \
  --index flat=Flat:ip --index ivf=IVF64,Flat:ip --index ivfpq=IVF64,PQ16:ip --index hnsw=HNSW32,Flat:ip \
  --index pq=PQ16:ip --index lsh=LSH256:l2 --bm25 "$OUT/passages" --wait
echo
echo "== 5. summary"
node -e '
const fs = require("fs"); const out = process.argv[1];
const m = JSON.parse(fs.readFileSync(out + "/indexes/manifest.json", "utf8"));
const rows = {}; for (const s of m.shards) for (const f of s.files) { const key = f.role.startsWith("bm25") ? "bm25" : f.role.slice(6); rows[key] = (rows[key] || 0) + f.bytes; }
console.log(`${m.shards.length} shards, ${m.rowsIn} passages (rowsIn = ${m.rowsWritten} written + ${m.rowsRejected} rejected)`);
console.log("index    MiB on disk (all shards)");
for (const [k, v] of Object.entries(rows)) console.log(k.padEnd(8) + " " + (v / 2 ** 20).toFixed(1));
console.log("manifest: " + out + "/indexes/manifest.json");
' "$OUT"
echo
echo "Done. Not yet part of the demo: encoder training, scatter-gather search and the evaluation report."
