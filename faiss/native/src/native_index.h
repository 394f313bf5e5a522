// NativeIndex: one faiss::Index owned by a JS object.
#pragma once

#include "common.h"

#include <memory>
#include <shared_mutex>

namespace sci {

struct SearchStats {
  uint64_t ndis = 0;           // distance computations (vectors or codes compared)
  uint64_t nhops = 0;          // HNSW: graph nodes expanded
  uint64_t nlist = 0;          // IVF: inverted lists scanned
  uint64_t quantizerDis = 0;   // IVF: distances to coarse centroids
};

// Per-call search, safe to run concurrently on one index (read-only).
void searchIndex(const faiss::Index& index, idx_t n, const float* x, idx_t k,
                 int nprobe, int efSearch, float* distances, idx_t* labels,
                 SearchStats& stats);

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

  std::shared_ptr<faiss::Index> index_;
  // Searches share the lock; train / add / parameter changes take it alone.
  std::shared_ptr<std::shared_mutex> mutex_ = std::make_shared<std::shared_mutex>();
};

}  // namespace sci
