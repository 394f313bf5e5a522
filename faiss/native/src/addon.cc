// Module entry: shared helpers, k-means, thread control.
#include "common.h"
#include "native_index.h"

#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/impl/FaissException.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <memory>

namespace sci {

std::atomic<int> gThreads{0};

void applyThreads() {
  int n = gThreads.load();
  if (n > 0) omp_set_num_threads(n);
}

std::string describeException(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const AddonError& e) {
    return e.what();
  } catch (const faiss::FaissException& e) {
    return std::string("[FAISS_ERROR] ") + e.what();
  } catch (const std::bad_alloc&) {
    return "[OUT_OF_MEMORY] allocation failed";
  } catch (const std::exception& e) {
    return std::string("[FAISS_ERROR] ") + e.what();
  } catch (...) {
    return "[FAISS_ERROR] unknown native exception";
  }
}

PromiseWorker::PromiseWorker(Napi::Env env, std::function<void()> execute,
                             std::function<Napi::Value(Napi::Env)> resolve,
                             std::vector<Napi::Value> keep)
    : Napi::AsyncWorker(env, "sci:faiss"),
      deferred_(Napi::Promise::Deferred::New(env)),
      execute_(std::move(execute)),
      resolve_(std::move(resolve)) {
  for (auto& value : keep) keep_.push_back(Napi::Persistent(value));
}

void PromiseWorker::Execute() {
  try {
    applyThreads();
    execute_();
  } catch (...) {
    SetError(describeException(std::current_exception()));
  }
}

void PromiseWorker::OnOK() {
  try {
    deferred_.Resolve(resolve_(Env()));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& error) { deferred_.Reject(error.Value()); }

Napi::Value queueVoid(Napi::Env env, std::function<void()> execute, std::vector<Napi::Value> keep) {
  auto* worker = new PromiseWorker(env, std::move(execute), [](Napi::Env env) { return env.Undefined(); }, std::move(keep));
  worker->Queue();
  return worker->Promise();
}

void checkLists(const idx_t* lists, idx_t n, size_t nlist) {
  for (idx_t i = 0; i < n; i++) {
    if (lists[i] < 0 || lists[i] >= static_cast<idx_t>(nlist)) {
      throw invalidArgument("list " + std::to_string(lists[i]) + " of row " + std::to_string(i) + " is outside [0, " + std::to_string(nlist) + ")");
    }
  }
}

Napi::Float32Array float32Arg(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw invalidArgument(std::string(what) + " must be a Float32Array");
  }
  return value.As<Napi::Float32Array>();
}

idx_t checkVectors(const Napi::Float32Array& x, int d, const char* what) {
  if (d <= 0) throw invalidArgument("dimension must be positive");
  size_t len = x.ElementLength();
  if (len % d != 0) {
    throw invalidArgument(std::string(what) + ": length " + std::to_string(len) +
                          " is not a multiple of the dimension " + std::to_string(d));
  }
  const float* data = x.Data();
  for (size_t i = 0; i < len; i++) {
    if (!std::isfinite(data[i])) {
      throw invalidArgument(std::string(what) + ": row " + std::to_string(i / d) +
                            " has a NaN or infinite value");
    }
  }
  return static_cast<idx_t>(len / d);
}

namespace {

// kmeans(x: Float32Array, d, k, {niter, seed, spherical, metric}) -> Promise<{centroids, objective}>
Napi::Value Kmeans(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 4 || !info[0].IsTypedArray() || !info[3].IsObject()) {
      throw invalidArgument("kmeans(x, d, k, options)");
    }
    auto x = float32Arg(info[0], "kmeans vectors");
    int d = info[1].As<Napi::Number>().Int32Value();
    int k = info[2].As<Napi::Number>().Int32Value();
    auto opts = info[3].As<Napi::Object>();
    idx_t n = checkVectors(x, d, "kmeans vectors");
    if (k <= 0) throw invalidArgument("k must be positive");
    if (n < k) throw invalidArgument("k-means needs at least k = " + std::to_string(k) + " vectors, got " + std::to_string(n));
    faiss::ClusteringParameters cp;
    cp.niter = opts.Get("niter").As<Napi::Number>().Int32Value();
    cp.seed = opts.Get("seed").As<Napi::Number>().Int32Value();
    cp.spherical = opts.Get("spherical").As<Napi::Boolean>().Value();
    cp.max_points_per_centroid = opts.Get("maxPointsPerCentroid").As<Napi::Number>().Int32Value();
    cp.verbose = false;
    bool ip = opts.Get("metric").As<Napi::String>().Utf8Value() == "ip";
    auto centroids = std::make_shared<std::vector<float>>();
    auto objective = std::make_shared<double>(0);
    const float* data = x.Data();
    auto* worker = new PromiseWorker(
        env,
        [=]() {
          faiss::Clustering clustering(d, k, cp);
          std::unique_ptr<faiss::Index> assign(ip ? static_cast<faiss::Index*>(new faiss::IndexFlatIP(d))
                                                  : static_cast<faiss::Index*>(new faiss::IndexFlatL2(d)));
          clustering.train(n, data, *assign);
          *centroids = clustering.centroids;
          if (!clustering.iteration_stats.empty()) *objective = clustering.iteration_stats.back().obj;
        },
        [=](Napi::Env env) -> Napi::Value {
          auto out = Napi::Float32Array::New(env, centroids->size());
          std::copy(centroids->begin(), centroids->end(), out.Data());
          auto result = Napi::Object::New(env);
          result.Set("centroids", out);
          result.Set("objective", Napi::Number::New(env, *objective));
          return result;
        },
        {x});
    worker->Queue();
    return worker->Promise();
  });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n <= 0) throw Napi::Error::New(info.Env(), "[INVALID_ARGUMENT] threads must be positive");
  gThreads = n;
  omp_set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  int n = gThreads.load();
  return Napi::Number::New(info.Env(), n > 0 ? n : omp_get_max_threads());
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeIndex", NativeIndex::Define(env));
  exports.Set("kmeans", Napi::Function::New(env, Kmeans, "kmeans"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("faissVersion", Napi::String::New(env, "1.7.3"));
  return exports;
}

}  // namespace sci

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return sci::Init(env, exports); }

NODE_API_MODULE(faiss_addon, InitModule)
