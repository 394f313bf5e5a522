#!/usr/bin/env bash
# The main job on the embedded default corpus. Today that is the stage that
# exists: WordNet ingested into Arrow shards, checked, and summarised.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${SCI_DEMO_OUT:-.sci/demo}"
echo "== sci demo: ingest the built-in WordNet corpus into 4 Arrow shards under $OUT/shards"
node bin/sci.js ingest --format wordnet --shards 4 --out "$OUT/shards"
echo
echo "== verify: manifest accounting and shard checksums"
node bin/sci.js shards verify "$OUT/shards"
echo
echo "Done. Later stages (cluster encode, index, search, evaluation) join this demo as they land."
