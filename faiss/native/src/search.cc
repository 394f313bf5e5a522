// Per-call search with per-call parameters and counters, safe to run
// concurrently on one index: nothing here writes to the index or to faiss's
// process-global statistics (hnsw_stats / indexIVF_stats are racy).
//
// HNSW: faiss 1.7.3 sizes the candidate queue from the index's efSearch and
// ignores SearchParametersHNSW (fixed upstream later), and its counters live
// in a global. So the search loop is written here on the public HNSW
// structures: greedy descent through the upper levels, then the level-0 beam
// search of faiss's search_from_candidates with a candidate queue of
// max(efSearch, k), the same stopping rule and tie handling. With efSearch
// equal to the index's own, results equal IndexHNSW::search.
//
// IVF: coarse quantizer search plus search_preassigned with local
// IndexIVFStats and IVFSearchParameters, sliced over threads as
// IndexIVF::search does.
#include "native_index.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/utils/Heap.h>

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <vector>

namespace sci {

namespace {

using storage_idx_t = faiss::HNSW::storage_idx_t;

// HNSW searches for minima; similarities are negated (as faiss does).
struct NegatedDistance : faiss::DistanceComputer {
  std::unique_ptr<faiss::DistanceComputer> base;
  explicit NegatedDistance(faiss::DistanceComputer* b) : base(b) {}
  void set_query(const float* x) override { base->set_query(x); }
  float operator()(idx_t i) override { return -(*base)(i); }
  float symmetric_dis(idx_t i, idx_t j) override { return -base->symmetric_dis(i, j); }
};

// Graph steps between two looks at the stop condition.
constexpr int kStepsPerCheck = 64;
// Queries scanned between two looks at the stop condition (IVF, exhaustive).
constexpr idx_t kQueriesPerCheck = 16;

void searchHnswOne(const faiss::HNSW& hnsw, faiss::DistanceComputer& dis, idx_t k, int ef, float* D,
                   idx_t* I, faiss::VisitedTable& vt, uint64_t& ndis, uint64_t& nhops, const SearchStop& stop) {
  if (hnsw.entry_point == -1) return;
  storage_idx_t nearest = hnsw.entry_point;
  float dNearest = dis(nearest);
  ndis += 1;
  for (int level = hnsw.max_level; level >= 1; level--) {
    for (;;) {
      storage_idx_t previous = nearest;
      size_t begin, end;
      hnsw.neighbor_range(nearest, level, &begin, &end);
      for (size_t j = begin; j < end; j++) {
        storage_idx_t v = hnsw.neighbors[j];
        if (v < 0) break;
        float d = dis(v);
        ndis += 1;
        if (d < dNearest) {
          nearest = v;
          dNearest = d;
        }
      }
      nhops += 1;
      if (nearest == previous) break;
    }
  }

  faiss::HNSW::MinimaxHeap candidates(std::max<int>(ef, static_cast<int>(k)));
  candidates.push(nearest, dNearest);
  int nres = 0;
  // The entry point is a result candidate too.
  if (nres < k) {
    faiss::maxheap_push(++nres, D, I, dNearest, static_cast<idx_t>(nearest));
  } else if (dNearest < D[0]) {
    faiss::maxheap_replace_top(nres, D, I, dNearest, static_cast<idx_t>(nearest));
  }
  vt.set(nearest);

  int nstep = 0;
  const bool distanceCheck = hnsw.check_relative_distance;
  while (candidates.size() > 0) {
    float d0 = 0;
    int v0 = candidates.pop_min(&d0);
    if (distanceCheck && candidates.count_below(d0) >= ef) break;
    size_t begin, end;
    hnsw.neighbor_range(v0, 0, &begin, &end);
    for (size_t j = begin; j < end; j++) {
      int v1 = hnsw.neighbors[j];
      if (v1 < 0) break;
      if (vt.get(v1)) continue;
      vt.set(v1);
      float d = dis(v1);
      ndis += 1;
      if (nres < k) {
        faiss::maxheap_push(++nres, D, I, d, static_cast<idx_t>(v1));
      } else if (d < D[0]) {
        faiss::maxheap_replace_top(nres, D, I, d, static_cast<idx_t>(v1));
      }
      candidates.push(v1, d);
    }
    nhops += 1;
    nstep += 1;
    if (!distanceCheck && nstep > ef) break;
    if (nstep % kStepsPerCheck == 0 && stop.stopped()) break;
  }
  vt.advance();
}

void searchHnsw(const faiss::IndexHNSW& index, idx_t n, const float* x, idx_t k, int ef, float* distances,
                idx_t* labels, SearchStats& stats, const SearchStop& stop) {
  if (ef <= 0) ef = index.hnsw.efSearch;
  const bool similarity = index.metric_type == faiss::METRIC_INNER_PRODUCT;
  uint64_t ndis = 0, nhops = 0;
  // No exception may leave an OpenMP region (it would terminate the process: a bad_alloc of a visited
  // table for a large index, say). Each thread keeps its first one and skips the rest of its work; every
  // thread still reaches the work-sharing loop (leaving it early would hang the others at its barrier),
  // and the first error is rethrown once the region has ended.
  std::vector<std::exception_ptr> errors(omp_get_max_threads());
  std::atomic<bool> failed{false};
#pragma omp parallel reduction(+ : ndis, nhops)
  {
    std::exception_ptr& error = errors[omp_get_thread_num()];
    std::unique_ptr<faiss::VisitedTable> vt;
    std::unique_ptr<faiss::DistanceComputer> dis;
    try {
      vt.reset(new faiss::VisitedTable(index.ntotal));
      dis.reset(index.storage->get_distance_computer());
      if (similarity) dis.reset(new NegatedDistance(dis.release()));
    } catch (...) {
      error = std::current_exception();
      failed = true;
    }
#pragma omp for schedule(dynamic, 16)
    for (idx_t i = 0; i < n; i++) {
      float* D = distances + i * k;
      idx_t* I = labels + i * k;
      faiss::maxheap_heapify(k, D, I);
      if (failed || stop.stopped()) continue;  // an OpenMP loop cannot break; the rest is skipped
      try {
        dis->set_query(x + i * index.d);
        searchHnswOne(index.hnsw, *dis, k, ef, D, I, *vt, ndis, nhops, stop);
      } catch (...) {
        if (!error) error = std::current_exception();
        failed = true;
      }
      faiss::maxheap_reorder(k, D, I);
    }
  }
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  if (similarity) {
    for (idx_t i = 0; i < n * k; i++) distances[i] = -distances[i];
  }
  stats.ndis += ndis;
  stats.nhops += nhops;
}

// IndexIVF::search (1.7.3, parallel_mode 0) parallelises by slicing the
// queries over threads, each slice quantized and scanned on its own thread;
// search_preassigned alone does not parallelise in that mode. Same here:
// `scanBatch(b0, m, sliceStats)` scans queries b0..b0+m, in batches so a
// stop is seen between them; the slices' IVF counters are summed.
template <typename ScanBatch>
void inSlices(idx_t n, SearchStats& stats, const SearchStop& stop, ScanBatch scanBatch) {
  int slices = static_cast<int>(std::min<idx_t>(omp_get_max_threads(), std::max<idx_t>(n, 1)));
  std::vector<faiss::IndexIVFStats> sliceStats(slices);
  std::vector<std::exception_ptr> errors(slices);
#pragma omp parallel for if (slices > 1)
  for (int slice = 0; slice < slices; slice++) {
    idx_t i0 = n * slice / slices;
    idx_t i1 = n * (slice + 1) / slices;
    if (i1 <= i0) continue;
    try {
      for (idx_t b0 = i0; b0 < i1 && !stop.stopped(); b0 += kQueriesPerCheck) {
        scanBatch(b0, std::min(kQueriesPerCheck, i1 - b0), sliceStats[slice]);
      }
    } catch (...) {
      errors[slice] = std::current_exception();
    }
  }
  for (auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  for (auto& local : sliceStats) {
    stats.ndis += local.ndis;
    stats.nlist += local.nlist;
  }
}

void searchIvf(const faiss::IndexIVF& index, idx_t n, const float* x, idx_t k, int nprobe, float* distances,
               idx_t* labels, SearchStats& stats, const SearchStop& stop) {
  size_t probes = nprobe > 0 ? static_cast<size_t>(nprobe) : index.nprobe;
  probes = std::min(probes, index.nlist);
  faiss::IVFSearchParameters params;
  params.nprobe = probes;
  params.max_codes = index.max_codes;
  inSlices(n, stats, stop, [&](idx_t b0, idx_t m, faiss::IndexIVFStats& local) {
    std::vector<idx_t> assign(m * probes);
    std::vector<float> centroidDistances(m * probes);
    index.quantizer->search(m, x + b0 * index.d, probes, centroidDistances.data(), assign.data());
    index.search_preassigned(m, x + b0 * index.d, k, assign.data(), centroidDistances.data(), distances + b0 * k,
                             labels + b0 * k, false, &params, &local);
  });
  stats.quantizerDis += static_cast<uint64_t>(n) * index.quantizer->ntotal;
}

// Routed search: the lists come with the query; scanned with the same
// parameters and slicing as searchIvf, so a list gives the same codes and
// distances whichever way it was chosen.
void searchIvfPreassigned(const faiss::IndexIVF& index, idx_t n, const float* x, idx_t k, const Preassigned& pre,
                          float* distances, idx_t* labels, SearchStats& stats, const SearchStop& stop) {
  faiss::IVFSearchParameters params;
  params.nprobe = pre.perQuery;
  params.max_codes = index.max_codes;
  const idx_t p = static_cast<idx_t>(pre.perQuery);
  inSlices(n, stats, stop, [&](idx_t b0, idx_t m, faiss::IndexIVFStats& local) {
    index.search_preassigned(m, x + b0 * index.d, k, pre.lists + b0 * p, pre.coarse + b0 * p, distances + b0 * k,
                             labels + b0 * k, false, &params, &local);
  });
}

}  // namespace

void assignLists(const faiss::IndexIVF& index, idx_t n, const float* x, idx_t nprobe, idx_t* lists, float* coarse) {
  // In batches of kQueriesPerCheck, as searchIvf asks its quantizer: faiss
  // switches to BLAS from 20 queries on, whose float sums differ in the last
  // bits; the same batching gives the same coarse distances.
  for (idx_t b0 = 0; b0 < n; b0 += kQueriesPerCheck) {
    idx_t m = std::min(kQueriesPerCheck, n - b0);
    index.quantizer->search(m, x + b0 * index.d, nprobe, coarse + b0 * nprobe, lists + b0 * nprobe);
  }
}

void SearchStop::throwIfStopped() const {
  int why = reason.load();
  if (why == 1) throw AddonError("CANCELLED", "search cancelled by its caller");
  if (why == 2) throw AddonError("DEADLINE_EXCEEDED", "search stopped at its deadline");
}

void searchIndex(const faiss::Index& index, idx_t n, const float* x, idx_t k, int nprobe, int efSearch,
                 float* distances, idx_t* labels, SearchStats& stats, const SearchStop& stop, const Preassigned* preassigned) {
  const faiss::Index* base = &index;
  const faiss::IndexIDMap* idmap = dynamic_cast<const faiss::IndexIDMap*>(&index);
  if (idmap) base = idmap->index;

  if (preassigned) {
    auto* ivf = dynamic_cast<const faiss::IndexIVF*>(base);
    if (!ivf) throw invalidArgument("a search on given lists needs an IVF index");
    searchIvfPreassigned(*ivf, n, x, k, *preassigned, distances, labels, stats, stop);
  } else if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(base)) {
    searchHnsw(*hnsw, n, x, k, efSearch, distances, labels, stats, stop);
  } else if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(base)) {
    searchIvf(*ivf, n, x, k, nprobe, distances, labels, stats, stop);
  } else {
    // Exhaustive indexes (Flat, PQ, LSH): every stored code is compared, in
    // batches of queries (BLAS-sized), the stop condition seen between them.
    const idx_t batch = std::max<idx_t>(kQueriesPerCheck, 256);
    for (idx_t i0 = 0; i0 < n && !stop.stopped(); i0 += batch) {
      idx_t m = std::min(batch, n - i0);
      base->search(m, x + i0 * base->d, k, distances + i0 * k, labels + i0 * k);
      stats.ndis += static_cast<uint64_t>(m) * base->ntotal;
    }
  }
  stop.throwIfStopped();
  if (idmap && base != &index) {
    const auto& ids = idmap->id_map;
    for (idx_t i = 0; i < n * k; i++) {
      if (labels[i] >= 0) labels[i] = ids[labels[i]];
    }
  }
}

}  // namespace sci
