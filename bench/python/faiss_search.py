#!/usr/bin/python3
"""Reference search with Debian's python3-faiss (the baseline for bench/faiss and
the interoperability test): loads an index file written by our addon, searches
the queries with the same parameters and thread count, and prints JSON with the
results and the best wall time over `repeat` runs.

usage: faiss_search.py INDEX QUERIES.npy K PARAMS_JSON THREADS REPEAT OUT.npz
"""
import json
import sys
import time

import faiss
import numpy as np


def main() -> None:
    index_path, queries_path, k, params_json, threads, repeat, out_path = sys.argv[1:8]
    k, threads, repeat = int(k), int(threads), int(repeat)
    params = json.loads(params_json)
    faiss.omp_set_num_threads(threads)
    index = faiss.read_index(index_path)
    queries = np.load(queries_path).astype(np.float32)
    base = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    if "nprobe" in params:
        faiss.extract_index_ivf(base).nprobe = params["nprobe"]
    if "efSearch" in params:
        # faiss 1.7.3 ignores per-call HNSW parameters: set the index field.
        faiss.downcast_index(base).hnsw.efSearch = params["efSearch"]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        distances, labels = index.search(queries, k)
        best = min(best, time.perf_counter() - start)
    np.savez(out_path, distances=distances, labels=labels)
    print(json.dumps({"seconds": best, "nq": int(queries.shape[0]), "ntotal": int(index.ntotal), "faiss": faiss.__version__}))


if __name__ == "__main__":
    main()
