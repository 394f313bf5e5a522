// NativeIndex: creation, training, adding, search, persistence of one index.
#include "native_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexLSH.h>
#include <faiss/IndexPQ.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <mutex>
#include <regex>

namespace sci {

namespace {

struct Constructor {
  Napi::FunctionReference ref;
};

faiss::MetricType parseMetric(const std::string& metric) {
  if (metric == "ip") return faiss::METRIC_INNER_PRODUCT;
  if (metric == "l2") return faiss::METRIC_L2;
  throw invalidArgument("metric must be 'ip' or 'l2', got '" + metric + "'");
}

const char* metricName(faiss::MetricType metric) {
  return metric == faiss::METRIC_INNER_PRODUCT ? "ip" : metric == faiss::METRIC_L2 ? "l2" : "other";
}

// The index that does the work: below an IDMap, if any.
const faiss::Index& inner(const faiss::Index& index) {
  if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(&index)) return *idmap->index;
  return index;
}

std::string kindOf(const faiss::Index& index) {
  const faiss::Index& base = inner(index);
  if (dynamic_cast<const faiss::IndexHNSW*>(&base)) return "hnsw";
  if (dynamic_cast<const faiss::IndexIVFPQ*>(&base)) return "ivfpq";
  if (dynamic_cast<const faiss::IndexIVF*>(&base)) return "ivf";
  if (dynamic_cast<const faiss::IndexPQ*>(&base)) return "pq";
  if (dynamic_cast<const faiss::IndexLSH*>(&base)) return "lsh";
  if (dynamic_cast<const faiss::IndexFlat*>(&base)) return "flat";
  return "other";
}

std::vector<uint8_t> serialize(const faiss::Index& index) {
  faiss::VectorIOWriter writer;
  faiss::write_index(&index, &writer);
  return std::move(writer.data);
}

// "LSH<nbits>" (optionally with an IDMap prefix) is built by hand: the 1.7.3
// factory only knows nbits = d.
std::unique_ptr<faiss::Index> build(int d, const std::string& description, faiss::MetricType metric) {
  static const std::regex lsh("^(IDMap,)?LSH([0-9]+)$");
  std::smatch match;
  if (std::regex_match(description, match, lsh)) {
    if (metric != faiss::METRIC_L2) throw invalidArgument("LSH supports only the l2 metric (sign bits of a random rotation)");
    int nbits = std::stoi(match[2].str());
    if (nbits <= 0) throw invalidArgument("LSH needs a positive bit count");
    std::unique_ptr<faiss::Index> base(new faiss::IndexLSH(d, nbits, true, false));
    if (match[1].length() == 0) return base;
    auto* idmap = new faiss::IndexIDMap(base.release());
    idmap->own_fields = true;
    return std::unique_ptr<faiss::Index>(idmap);
  }
  return std::unique_ptr<faiss::Index>(faiss::index_factory(d, description.c_str(), metric));
}

}  // namespace

Napi::Function NativeIndex::Define(Napi::Env env) {
  Napi::Function fn = DefineClass(
      env, "NativeIndex",
      {
          StaticMethod("factory", &NativeIndex::Factory),
          StaticMethod("createIvf", &NativeIndex::CreateIvf),
          StaticMethod("readFile", &NativeIndex::ReadFile),
          StaticMethod("fromBuffer", &NativeIndex::FromBuffer),
          InstanceMethod("info", &NativeIndex::Info),
          InstanceMethod("memoryBytes", &NativeIndex::MemoryBytes),
          InstanceMethod("train", &NativeIndex::Train),
          InstanceMethod("add", &NativeIndex::Add),
          InstanceMethod("addPreassigned", &NativeIndex::AddPreassigned),
          InstanceMethod("trainPreassigned", &NativeIndex::TrainPreassigned),
          InstanceMethod("search", &NativeIndex::Search),
          InstanceMethod("writeFile", &NativeIndex::WriteFile),
          InstanceMethod("toBuffer", &NativeIndex::ToBuffer),
          InstanceMethod("setDefaultEfSearch", &NativeIndex::SetDefaultEfSearch),
          InstanceMethod("assign", &NativeIndex::Assign),
          InstanceMethod("listSizes", &NativeIndex::ListSizes),
          InstanceMethod("copyListsFrom", &NativeIndex::CopyListsFrom),
          InstanceMethod("listIds", &NativeIndex::ListIds),
      });
  // Per-environment constructor (worker threads each load the addon).
  auto* constructor = new Constructor{Napi::Persistent(fn)};
  env.SetInstanceData<Constructor>(constructor);
  return fn;
}

Napi::Value NativeIndex::Wrap(Napi::Env env, std::unique_ptr<faiss::Index> index) {
  auto external = Napi::External<faiss::Index>::New(env, index.release());
  return env.GetInstanceData<Constructor>()->ref.New({external});
}

NativeIndex::NativeIndex(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeIndex>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "[INVALID_ARGUMENT] use NativeIndex.factory / createIvf / readFile / fromBuffer");
  }
  index_.reset(info[0].As<Napi::External<faiss::Index>>().Data());
}

// factory(d, description, metric)
Napi::Value NativeIndex::Factory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    int d = info[0].As<Napi::Number>().Int32Value();
    if (d <= 0) throw invalidArgument("dimension must be positive");
    auto description = info[1].As<Napi::String>().Utf8Value();
    auto metric = parseMetric(info[2].As<Napi::String>().Utf8Value());
    return Wrap(env, build(d, description, metric));
  });
}

// createIvf(d, metric, centroids, pqM, pqNbits): an IVF(-PQ) index whose coarse
// centroids are given (SCI dual-view indexing); pqM = 0 means IVF-Flat.
Napi::Value NativeIndex::CreateIvf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    int d = info[0].As<Napi::Number>().Int32Value();
    auto metric = parseMetric(info[1].As<Napi::String>().Utf8Value());
    auto centroids = float32Arg(info[2], "centroids");
    int pqM = info[3].As<Napi::Number>().Int32Value();
    int pqNbits = info[4].As<Napi::Number>().Int32Value();
    idx_t nlist = checkVectors(centroids, d, "centroids");
    if (nlist <= 0) throw invalidArgument("at least one centroid is needed");
    std::unique_ptr<faiss::IndexFlat> quantizer(metric == faiss::METRIC_INNER_PRODUCT ? static_cast<faiss::IndexFlat*>(new faiss::IndexFlatIP(d))
                                                                                     : static_cast<faiss::IndexFlat*>(new faiss::IndexFlatL2(d)));
    quantizer->add(nlist, centroids.Data());
    std::unique_ptr<faiss::IndexIVF> ivf;
    if (pqM == 0) {
      ivf.reset(new faiss::IndexIVFFlat(quantizer.get(), d, nlist, metric));
      ivf->is_trained = true;  // the centroids are the only trained state of IVF-Flat
    } else {
      if (d % pqM != 0) throw invalidArgument("PQ sub-quantizer count " + std::to_string(pqM) + " must divide the dimension " + std::to_string(d));
      auto* pq = new faiss::IndexIVFPQ(quantizer.get(), d, nlist, pqM, pqNbits, metric);
      pq->do_polysemous_training = false;
      ivf.reset(pq);  // trained later: the PQ codebooks from the stored view
    }
    quantizer.release();
    ivf->own_fields = true;
    return Wrap(env, std::unique_ptr<faiss::Index>(ivf.release()));
  });
}

Napi::Value NativeIndex::ReadFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "[INVALID_ARGUMENT] readFile needs a path");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  auto result = std::make_shared<std::unique_ptr<faiss::Index>>();
  auto* worker = new PromiseWorker(
      env, [=]() { result->reset(faiss::read_index(path.c_str())); },
      [=](Napi::Env env) { return Wrap(env, std::move(*result)); }, {});
  worker->Queue();
  return worker->Promise();
}

Napi::Value NativeIndex::FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      throw invalidArgument("fromBuffer needs a Uint8Array or Buffer");
    }
    auto buffer = info[0].As<Napi::Uint8Array>();
    faiss::VectorIOReader reader;
    reader.data.assign(buffer.Data(), buffer.Data() + buffer.ByteLength());
    return Wrap(env, std::unique_ptr<faiss::Index>(faiss::read_index(&reader)));
  });
}

Napi::Value NativeIndex::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_lock<std::shared_mutex> lock(*mutex_);
  const faiss::Index& base = inner(*index_);
  auto out = Napi::Object::New(env);
  out.Set("d", Napi::Number::New(env, index_->d));
  out.Set("ntotal", Napi::Number::New(env, static_cast<double>(index_->ntotal)));
  out.Set("isTrained", Napi::Boolean::New(env, index_->is_trained));
  out.Set("metric", Napi::String::New(env, metricName(index_->metric_type)));
  out.Set("kind", Napi::String::New(env, kindOf(*index_)));
  out.Set("hasIdMap", Napi::Boolean::New(env, &base != index_.get()));
  if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&base)) {
    out.Set("nlist", Napi::Number::New(env, static_cast<double>(ivf->nlist)));
    out.Set("nprobe", Napi::Number::New(env, static_cast<double>(ivf->nprobe)));
  }
  if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&base)) {
    out.Set("efSearch", Napi::Number::New(env, hnsw->hnsw.efSearch));
    out.Set("efConstruction", Napi::Number::New(env, hnsw->hnsw.efConstruction));
    out.Set("maxLevel", Napi::Number::New(env, hnsw->hnsw.max_level));
  }
  return out;
}

// Serialized size: faiss's own format, which is what the index holds in
// memory. Costs a full serialization, so it is not part of info().
Napi::Value NativeIndex::MemoryBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::shared_lock<std::shared_mutex> lock(*mutex_);
    return Napi::Number::New(env, static_cast<double>(serialize(*index_).size()));
  });
}

// train(x) -> Promise<void>
Napi::Value NativeIndex::Train(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto x = float32Arg(info[0], "training vectors");
    idx_t n = checkVectors(x, index_->d, "training vectors");
    if (n == 0) throw invalidArgument("no training vectors");
    auto index = index_;
    auto mutex = mutex_;
    const float* data = x.Data();
    return queueVoid(
        env,
        [=]() {
          std::unique_lock<std::shared_mutex> lock(*mutex);
          index->train(n, data);
        },
        {x, info.This()});
  });
}

namespace {
const idx_t* checkIds(const Napi::Value& value, idx_t n, const char* what) {
  if (value.IsNull() || value.IsUndefined()) return nullptr;
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array) {
    throw invalidArgument(std::string(what) + " must be a BigInt64Array");
  }
  auto ids = value.As<Napi::BigInt64Array>();
  if (static_cast<idx_t>(ids.ElementLength()) != n) {
    throw invalidArgument(std::string(what) + ": " + std::to_string(ids.ElementLength()) + " ids for " + std::to_string(n) + " vectors");
  }
  return reinterpret_cast<const idx_t*>(ids.Data());
}
}  // namespace

// add(x, ids | null) -> Promise<void>
Napi::Value NativeIndex::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto x = float32Arg(info[0], "vectors");
    idx_t n = checkVectors(x, index_->d, "vectors");
    const idx_t* ids = checkIds(info[1], n, "ids");
    if (!index_->is_trained) throw AddonError("NOT_TRAINED", "index must be trained before vectors are added");
    auto index = index_;
    auto mutex = mutex_;
    const float* data = x.Data();
    std::vector<Napi::Value> keep{x, info.This()};
    if (ids) keep.push_back(info[1]);
    return queueVoid(
        env,
        [=]() {
          std::unique_lock<std::shared_mutex> lock(*mutex);
          if (ids) index->add_with_ids(n, data, ids);
          else index->add(n, data);
        },
        keep);
  });
}

// addPreassigned(x, ids, lists): IVF add with caller-computed inverted lists.
Napi::Value NativeIndex::AddPreassigned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(index_.get());
    if (!ivf) throw invalidArgument("addPreassigned needs an IVF index (not wrapped in IDMap)");
    auto x = float32Arg(info[0], "vectors");
    idx_t n = checkVectors(x, index_->d, "vectors");
    const idx_t* ids = checkIds(info[1], n, "ids");
    if (!ids) throw invalidArgument("ids are required");
    const idx_t* lists = checkIds(info[2], n, "lists");
    if (!lists) throw invalidArgument("list assignments are required");
    checkLists(lists, n, ivf->nlist);
    if (!ivf->is_trained) throw AddonError("NOT_TRAINED", "index must be trained before vectors are added");
    auto index = index_;
    auto mutex = mutex_;
    const float* data = x.Data();
    return queueVoid(
        env,
        [=]() {
          std::unique_lock<std::shared_mutex> lock(*mutex);
          static_cast<faiss::IndexIVF*>(index.get())->add_core(n, data, ids, lists);
        },
        {x, info[1], info[2], info.This()});
  });
}

// trainPreassigned(x, lists): IVF-PQ codebooks from residuals to the given
// lists' centroids (the dual-view assignment), as train_residual does with
// the quantizer's own assignment. IVF-Flat has nothing to train.
Napi::Value NativeIndex::TrainPreassigned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto* ivf = dynamic_cast<faiss::IndexIVF*>(index_.get());
    if (!ivf) throw invalidArgument("trainPreassigned needs an IVF index");
    auto x = float32Arg(info[0], "training vectors");
    idx_t n = checkVectors(x, index_->d, "training vectors");
    const idx_t* lists = checkIds(info[1], n, "lists");
    if (!lists || n == 0) throw invalidArgument("training vectors and their lists are required");
    checkLists(lists, n, ivf->nlist);
    auto index = index_;
    auto mutex = mutex_;
    const float* data = x.Data();
    return queueVoid(
        env,
        [=]() {
          std::unique_lock<std::shared_mutex> lock(*mutex);
          auto* pq = dynamic_cast<faiss::IndexIVFPQ*>(index.get());
          if (pq) {
            int d = pq->d;
            std::vector<float> residuals(static_cast<size_t>(n) * d);
            for (idx_t i = 0; i < n; i++) {
              if (pq->by_residual) pq->quantizer->compute_residual(data + i * d, residuals.data() + i * d, lists[i]);
              else std::copy(data + i * d, data + (i + 1) * d, residuals.data() + i * d);
            }
            pq->pq.train(n, residuals.data());
            if (pq->by_residual) pq->precompute_table();
          }
          index->is_trained = true;
        },
        {x, info[1], info.This()});
  });
}

// search(x, k, nprobe, efSearch, timeoutMs, stopFlag) -> Promise<{distances, labels, stats}>;
// nprobe / efSearch / timeoutMs 0 = the index's default / no deadline; stopFlag an
// Int32Array (over a SharedArrayBuffer) whose element 0 the caller sets to cancel, or null.
Napi::Value NativeIndex::Search(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto x = float32Arg(info[0], "queries");
    idx_t n = checkVectors(x, index_->d, "queries");
    int64_t k = info[1].As<Napi::Number>().Int64Value();
    int64_t nprobe = info[2].As<Napi::Number>().Int64Value();
    int64_t efSearch = info[3].As<Napi::Number>().Int64Value();
    double timeoutMs = info.Length() > 4 && info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : 0;
    if (k <= 0 || k > kMaxK) throw invalidArgument("k must be from 1 to " + std::to_string(kMaxK));
    if (nprobe < 0 || nprobe > kMaxNprobe)
      throw invalidArgument("nprobe must be from 1 to " + std::to_string(kMaxNprobe) + " (0 = the index's own)");
    if (efSearch < 0 || efSearch > kMaxEfSearch)
      throw invalidArgument("efSearch must be from 1 to " + std::to_string(kMaxEfSearch) + " (0 = the index's own)");
    if (n * k > kMaxResultEntries)
      throw invalidArgument("queries x k must be at most " + std::to_string(kMaxResultEntries) + ", got " + std::to_string(n * k));
    if (!(timeoutMs >= 0)) throw invalidArgument("timeoutMs must be 0 (none) or positive");
    if (!index_->is_trained) throw AddonError("NOT_TRAINED", "index is not trained");
    auto stop = std::make_shared<SearchStop>();
    if (timeoutMs > 0)
      stop->deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeoutMs * 1000));
    std::vector<Napi::Value> keep{x, info.This()};
    if (info.Length() > 5 && info[5].IsTypedArray()) {
      if (info[5].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw invalidArgument("stop flag must be an Int32Array");
      auto flag = info[5].As<Napi::Int32Array>();
      if (flag.ElementLength() < 1) throw invalidArgument("stop flag must hold one element");
      // The typed array's own data pointer: valid for a SharedArrayBuffer too.
      stop->flag = flag.Data();
      keep.push_back(flag);
    }
    // searchLists: {lists: BigInt64Array, coarse: Float32Array}, n x p each; list -1 = none.
    std::shared_ptr<Preassigned> preassigned;
    if (info.Length() > 6 && info[6].IsObject()) {
      auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&inner(*index_));
      if (!ivf) throw invalidArgument("a search on given lists needs an IVF index");
      auto given = info[6].As<Napi::Object>();
      Napi::Value listsValue = given.Get("lists");
      if (!listsValue.IsTypedArray() || listsValue.As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array)
        throw invalidArgument("lists must be a BigInt64Array");
      auto lists = listsValue.As<Napi::BigInt64Array>();
      auto coarse = float32Arg(given.Get("coarse"), "coarse distances");
      size_t total = lists.ElementLength();
      if (n == 0 || total % n != 0 || coarse.ElementLength() != total)
        throw invalidArgument(std::to_string(total) + " lists and " + std::to_string(coarse.ElementLength()) + " coarse distances for " + std::to_string(n) + " queries");
      size_t perQuery = total / n;
      if (perQuery == 0 || perQuery > static_cast<size_t>(kMaxNprobe)) throw invalidArgument("lists per query must be from 1 to " + std::to_string(kMaxNprobe));
      const idx_t* listData = reinterpret_cast<const idx_t*>(lists.Data());
      for (size_t i = 0; i < total; i++) {
        if (listData[i] < -1 || listData[i] >= static_cast<idx_t>(ivf->nlist))
          throw invalidArgument("list " + std::to_string(listData[i]) + " of query " + std::to_string(i / perQuery) + " is outside [0, " + std::to_string(ivf->nlist) + ")");
      }
      preassigned = std::make_shared<Preassigned>();
      preassigned->lists = listData;
      preassigned->coarse = coarse.Data();
      preassigned->perQuery = perQuery;
      keep.push_back(lists);
      keep.push_back(coarse);
    }
    auto index = index_;
    auto mutex = mutex_;
    const float* data = x.Data();
    auto distances = std::make_shared<std::vector<float>>(n * k);
    auto labels = std::make_shared<std::vector<idx_t>>(n * k);
    auto stats = std::make_shared<SearchStats>();
    auto* worker = new PromiseWorker(
        env,
        [=]() {
          auto started = std::chrono::steady_clock::now();
          std::shared_lock<std::shared_mutex> lock(*mutex);
          searchIndex(*index, n, data, k, static_cast<int>(nprobe), static_cast<int>(efSearch), distances->data(), labels->data(), *stats, *stop,
                      preassigned.get());
          stats->workMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        },
        [=](Napi::Env env) -> Napi::Value {
          auto d = Napi::Float32Array::New(env, distances->size());
          std::copy(distances->begin(), distances->end(), d.Data());
          auto l = Napi::BigInt64Array::New(env, labels->size());
          std::copy(labels->begin(), labels->end(), reinterpret_cast<idx_t*>(l.Data()));
          auto s = Napi::Object::New(env);
          s.Set("ndis", Napi::Number::New(env, static_cast<double>(stats->ndis)));
          s.Set("nhops", Napi::Number::New(env, static_cast<double>(stats->nhops)));
          s.Set("nlist", Napi::Number::New(env, static_cast<double>(stats->nlist)));
          s.Set("quantizerDis", Napi::Number::New(env, static_cast<double>(stats->quantizerDis)));
          s.Set("workMs", Napi::Number::New(env, stats->workMs));
          auto out = Napi::Object::New(env);
          out.Set("distances", d);
          out.Set("labels", l);
          out.Set("stats", s);
          return out;
        },
        keep);
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value NativeIndex::WriteFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  auto index = index_;
  auto mutex = mutex_;
  return queueVoid(
      env,
      [=]() {
        std::shared_lock<std::shared_mutex> lock(*mutex);
        faiss::write_index(index.get(), path.c_str());
      },
      {info.This()});
}

Napi::Value NativeIndex::ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::shared_lock<std::shared_mutex> lock(*mutex_);
    auto bytes = serialize(*index_);
    return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  });
}

// The efSearch used when a search passes none (stored in the index file).
Napi::Value NativeIndex::SetDefaultEfSearch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int ef = info[0].As<Napi::Number>().Int32Value();
  if (ef <= 0) throw Napi::Error::New(env, "[INVALID_ARGUMENT] efSearch must be positive");
  std::unique_lock<std::shared_mutex> lock(*mutex_);
  auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(&inner(*index_));
  if (!hnsw) throw Napi::Error::New(env, "[INVALID_ARGUMENT] not an HNSW index");
  const_cast<faiss::IndexHNSW*>(hnsw)->hnsw.efSearch = ef;
  return env.Undefined();
}

// assign(x, nprobe) -> Promise<{lists: BigInt64Array, coarse: Float32Array}>:
// the coarse quantizer's nprobe nearest lists per query (routed search).
Napi::Value NativeIndex::Assign(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&inner(*index_));
    if (!ivf) throw invalidArgument("assign needs an IVF index");
    auto x = float32Arg(info[0], "queries");
    idx_t n = checkVectors(x, index_->d, "queries");
    int64_t nprobe = info[1].As<Napi::Number>().Int64Value();
    if (nprobe <= 0 || nprobe > kMaxNprobe) throw invalidArgument("nprobe must be from 1 to " + std::to_string(kMaxNprobe));
    if (!ivf->is_trained) throw AddonError("NOT_TRAINED", "index is not trained");
    nprobe = std::min<int64_t>(nprobe, static_cast<int64_t>(ivf->nlist));
    if (n * nprobe > kMaxResultEntries) throw invalidArgument("queries x nprobe must be at most " + std::to_string(kMaxResultEntries));
    auto index = index_;
    auto mutex = mutex_;
    const float* data = x.Data();
    auto lists = std::make_shared<std::vector<idx_t>>(n * nprobe);
    auto coarse = std::make_shared<std::vector<float>>(n * nprobe);
    auto* worker = new PromiseWorker(
        env,
        [=]() {
          std::shared_lock<std::shared_mutex> lock(*mutex);
          assignLists(*dynamic_cast<const faiss::IndexIVF*>(&inner(*index)), n, data, nprobe, lists->data(), coarse->data());
        },
        [=](Napi::Env env) -> Napi::Value {
          auto l = Napi::BigInt64Array::New(env, lists->size());
          std::copy(lists->begin(), lists->end(), reinterpret_cast<idx_t*>(l.Data()));
          auto c = Napi::Float32Array::New(env, coarse->size());
          std::copy(coarse->begin(), coarse->end(), c.Data());
          auto out = Napi::Object::New(env);
          out.Set("lists", l);
          out.Set("coarse", c);
          return out;
        },
        {x, info.This()});
    worker->Queue();
    return worker->Promise();
  });
}

// listSizes() -> Float64Array: entries in each inverted list.
Napi::Value NativeIndex::ListSizes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::shared_lock<std::shared_mutex> lock(*mutex_);
    auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&inner(*index_));
    if (!ivf) throw invalidArgument("listSizes needs an IVF index");
    auto out = Napi::Float64Array::New(env, ivf->nlist);
    for (size_t l = 0; l < ivf->nlist; l++) out[l] = static_cast<double>(ivf->invlists->list_size(l));
    return out;
  });
}

// copyListsFrom(source, lists: BigInt64Array) -> Promise<void>: appends the
// source's entries (ids and codes) of the given lists to this index's same
// lists. Both must be the same kind of IVF with the same list count and code
// size: the caller checks they share one trained quantizer.
Napi::Value NativeIndex::CopyListsFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[0].IsObject()) throw invalidArgument("copyListsFrom(source, lists)");
    auto* source = Napi::ObjectWrap<NativeIndex>::Unwrap(info[0].As<Napi::Object>());
    auto* dst = dynamic_cast<faiss::IndexIVF*>(index_.get());
    auto* src = dynamic_cast<const faiss::IndexIVF*>(source->index_.get());
    if (!dst || !src) throw invalidArgument("copyListsFrom needs two IVF indexes (not wrapped in IDMap)");
    if (src == dst) throw invalidArgument("copyListsFrom: source and target are the same index");
    if (src->d != dst->d || src->nlist != dst->nlist || src->code_size != dst->code_size || src->metric_type != dst->metric_type || kindOf(*src) != kindOf(*dst))
      throw invalidArgument("copyListsFrom: the indexes differ (d " + std::to_string(src->d) + "/" + std::to_string(dst->d) + ", nlist " +
                            std::to_string(src->nlist) + "/" + std::to_string(dst->nlist) + ", code size " + std::to_string(src->code_size) + "/" +
                            std::to_string(dst->code_size) + ")");
    if (src->direct_map.type != faiss::DirectMap::NoMap || dst->direct_map.type != faiss::DirectMap::NoMap)
      throw invalidArgument("copyListsFrom: indexes with a direct map are not supported");
    const idx_t* lists = checkIds(info[1], info[1].IsTypedArray() ? info[1].As<Napi::TypedArray>().ElementLength() : 0, "lists");
    if (!lists) throw invalidArgument("lists are required");
    idx_t n = static_cast<idx_t>(info[1].As<Napi::TypedArray>().ElementLength());
    checkLists(lists, n, dst->nlist);
    auto dstIndex = index_;
    auto srcIndex = source->index_;
    auto dstMutex = mutex_;
    auto srcMutex = source->mutex_;
    return queueVoid(
        env,
        [=]() {
          std::shared_lock<std::shared_mutex> readLock(*srcMutex);
          std::unique_lock<std::shared_mutex> writeLock(*dstMutex);
          auto* to = static_cast<faiss::IndexIVF*>(dstIndex.get());
          auto* from = static_cast<const faiss::IndexIVF*>(srcIndex.get());
          for (idx_t i = 0; i < n; i++) {
            size_t size = from->invlists->list_size(lists[i]);
            if (size == 0) continue;
            faiss::InvertedLists::ScopedIds ids(from->invlists, lists[i]);
            faiss::InvertedLists::ScopedCodes codes(from->invlists, lists[i]);
            to->invlists->add_entries(lists[i], size, ids.get(), codes.get());
            to->ntotal += size;
          }
        },
        {info[0], info[1], info.This()});
  });
}

// listIds(lists: BigInt64Array) -> BigInt64Array: the ids stored in the
// given lists, list after list.
Napi::Value NativeIndex::ListIds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::shared_lock<std::shared_mutex> lock(*mutex_);
    auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&inner(*index_));
    if (!ivf) throw invalidArgument("listIds needs an IVF index");
    idx_t n = info[0].IsTypedArray() ? static_cast<idx_t>(info[0].As<Napi::TypedArray>().ElementLength()) : 0;
    const idx_t* lists = checkIds(info[0], n, "lists");
    if (!lists) throw invalidArgument("lists are required");
    checkLists(lists, n, ivf->nlist);
    size_t total = 0;
    for (idx_t i = 0; i < n; i++) total += ivf->invlists->list_size(lists[i]);
    auto out = Napi::BigInt64Array::New(env, total);
    auto* at = reinterpret_cast<idx_t*>(out.Data());
    for (idx_t i = 0; i < n; i++) {
      size_t size = ivf->invlists->list_size(lists[i]);
      if (size == 0) continue;
      faiss::InvertedLists::ScopedIds ids(ivf->invlists, lists[i]);
      std::copy(ids.get(), ids.get() + size, at);
      at += size;
    }
    return out;
  });
}

}  // namespace sci
