// Shared helpers of the faiss addon: typed errors, threads, async work.
#pragma once

#include <napi.h>

#include <faiss/Index.h>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>

namespace sci {

using idx_t = faiss::Index::idx_t;

// Errors carry a stable code as a "[CODE] " prefix; faiss/errors.ts turns
// the prefix back into a typed error (fromNative).
struct AddonError : std::runtime_error {
  AddonError(const std::string& code, const std::string& message)
      : std::runtime_error("[" + code + "] " + message) {}
};

inline AddonError invalidArgument(const std::string& message) {
  return AddonError("INVALID_ARGUMENT", message);
}

// Runs `body`, converting any C++ exception into an AddonError message.
std::string describeException(std::exception_ptr error);

// Threads faiss may use in one call (OpenMP's setting is per thread, so
// every worker applies it before calling into faiss).
extern std::atomic<int> gThreads;
void applyThreads();

// A Promise-returning unit of work that runs `execute` on the libuv pool
// and builds the resolved value with `resolve` on the JS thread. `keep`
// holds JS objects (input arrays, the index) alive until it settles.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, std::function<void()> execute,
                std::function<Napi::Value(Napi::Env)> resolve,
                std::vector<Napi::Value> keep);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> execute_;
  std::function<Napi::Value(Napi::Env)> resolve_;
  std::vector<Napi::Reference<Napi::Value>> keep_;
};

// The argument as a Float32Array, or an INVALID_ARGUMENT error naming it.
Napi::Float32Array float32Arg(const Napi::Value& value, const char* what);

// Runs `body`, turning any C++ exception into a JS Error carrying its [CODE].
template <typename F>
Napi::Value guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(env, describeException(std::current_exception()));
  }
}

// Queues `execute` on the libuv pool; the promise resolves to undefined.
Napi::Value queueVoid(Napi::Env env, std::function<void()> execute, std::vector<Napi::Value> keep);

// Checks that every list id is in [0, nlist).
void checkLists(const idx_t* lists, idx_t n, size_t nlist);

// Checks a Float32Array of n * d finite values; returns n.
idx_t checkVectors(const Napi::Float32Array& x, int d, const char* what);

}  // namespace sci
