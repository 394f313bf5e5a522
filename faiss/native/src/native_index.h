// NativeIndex: one faiss::Index owned by a JS object.
#pragma once

#include "common.h"

#include <faiss/IndexIVF.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <shared_mutex>

namespace sci {

struct SearchStats {
  uint64_t ndis = 0;           // distance computations (vectors or codes compared)
  uint64_t nhops = 0;          // HNSW: graph nodes expanded
  uint64_t nlist = 0;          // IVF: inverted lists scanned
  uint64_t quantizerDis = 0;   // IVF: distances to coarse centroids
  double workMs = 0;           // wall time of the search itself (not its wait for a pool thread)
};

// Limits a search checks before it allocates anything: one request must not
// be able to take the machine's memory (efSearch sizes a per-query heap, n * k
// the result arrays).
constexpr int64_t kMaxK = 100000;
constexpr int kMaxEfSearch = 1 << 14;
constexpr int kMaxNprobe = 1 << 16;
constexpr int64_t kMaxResultEntries = int64_t(1) << 24;

// When a search gives up: its deadline passed, or the caller raised the flag
// (an Int32Array over a SharedArrayBuffer that JS sets on abort). Checked
// between queries and between batches of graph steps / inverted lists.
struct SearchStop {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  const int32_t* flag = nullptr;
  mutable std::atomic<int> reason{0};  // 0 running, 1 cancelled, 2 deadline

  bool stopped() const {
    if (reason.load(std::memory_order_relaxed) != 0) return true;
    if (flag && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0) {
      reason.store(1);
      return true;
    }
    if (deadline != std::chrono::steady_clock::time_point::max() && std::chrono::steady_clock::now() >= deadline) {
      reason.store(2);
      return true;
    }
    return false;
  }
  // Throws the error that says why the search stopped, if it did.
  void throwIfStopped() const;
};

// Lists an IVF search is told to scan instead of asking its coarse quantizer
// (routed search: the router assigned the query once against the shared
// centroids). Row-major n x perQuery; -1 = no list in that slot.
struct Preassigned {
  const idx_t* lists = nullptr;
  const float* coarse = nullptr;  // the query's distance to each list's centroid
  size_t perQuery = 0;
};

// Per-call search, safe to run concurrently on one index (read-only).
// `preassigned` (IVF only) replaces the coarse quantizer's assignment.
void searchIndex(const faiss::Index& index, idx_t n, const float* x, idx_t k,
                 int nprobe, int efSearch, float* distances, idx_t* labels,
                 SearchStats& stats, const SearchStop& stop,
                 const Preassigned* preassigned = nullptr);

// The nprobe lists nearest each query by the index's coarse quantizer
// (row-major n x nprobe, nearest first), with their centroid distances.
void assignLists(const faiss::IndexIVF& index, idx_t n, const float* x, idx_t nprobe, idx_t* lists, float* coarse);

class NativeIndex : public Napi::ObjectWrap<NativeIndex> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Value Wrap(Napi::Env env, std::unique_ptr<faiss::Index> index);
  explicit NativeIndex(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Factory(const Napi::CallbackInfo& info);
  static Napi::Value CreateIvf(const Napi::CallbackInfo& info);
  static Napi::Value ReadFile(const Napi::CallbackInfo& info);
  static Napi::Value FromBuffer(const Napi::CallbackInfo& info);

  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value MemoryBytes(const Napi::CallbackInfo& info);
  Napi::Value Train(const Napi::CallbackInfo& info);
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value AddPreassigned(const Napi::CallbackInfo& info);
  Napi::Value TrainPreassigned(const Napi::CallbackInfo& info);
  Napi::Value Search(const Napi::CallbackInfo& info);
  Napi::Value WriteFile(const Napi::CallbackInfo& info);
  Napi::Value ToBuffer(const Napi::CallbackInfo& info);
  Napi::Value SetDefaultEfSearch(const Napi::CallbackInfo& info);
  Napi::Value Assign(const Napi::CallbackInfo& info);
  Napi::Value ListSizes(const Napi::CallbackInfo& info);
  Napi::Value CopyListsFrom(const Napi::CallbackInfo& info);
  Napi::Value ListIds(const Napi::CallbackInfo& info);

  std::shared_ptr<faiss::Index> index_;
  // Searches share the lock; train / add / parameter changes take it alone.
  std::shared_ptr<std::shared_mutex> mutex_ = std::make_shared<std::shared_mutex>();
};

}  // namespace sci
