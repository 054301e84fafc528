// choleskyBatch / choleskySolveBatch: batched small Cholesky factorizations and solves, the bindings (see
// completion.cc for the contract; the kernels are in completion_kernels.cc).
#include <cmath>

#include "completion.h"
#include "completion_kernels.h"

namespace lr {
namespace seg {
namespace {

// ---- choleskyBatch ------------------------------------------------------------------------------------

struct CholBatchJob : Job {
  FloatArray G, L, status;
  FloatArray ridge;  // Float64Array or absent
  bool hasRidge = false, inverse = false;
  double fallback = 0;
  int64_t segs = 0, k = 0;

  void Execute() override {
    withDtype(L.dtype, [&](auto z) {
      using T = decltype(z);
      la::choleskyBatch(G.ptr<T>(), L.ptr<T>(), status.ptr<T>(), hasRidge ? ridge.ptr<double>() : nullptr, segs, k,
                        fallback, inverse, threads);
      return 0;
    });
  }
};

}  // namespace

Napi::Value CholeskyBatch(const Napi::CallbackInfo& info) {
  const char* fn = "choleskyBatch";
  Args a(info, fn, 9);
  auto job = std::make_unique<CholBatchJob>();
  CholBatchJob& j = *job;
  j.G = a.floats(0, "G", *job);
  j.segs = a.dim(1, "segs");
  j.k = a.dim(2, "k");
  j.hasRidge = !info[3].IsNull();
  if (j.hasRidge) {
    j.ridge = a.floats(3, "ridge", *job);
    a.needDtype(j.ridge, DType::F64, "ridge");
    a.needLength(j.ridge, static_cast<uint64_t>(j.segs), "ridge");
    const double* r = j.ridge.ptr<double>();
    for (int64_t s = 0; s < j.segs; ++s)
      if (!std::isfinite(r[s])) jsRangeError(a.env(), a.where("ridge") + ": entries must be finite");
  }
  j.fallback = a.finite(4, "fallback");
  j.inverse = a.boolean(5, "inverse");
  j.L = a.floats(6, "L", *job);
  j.status = a.floats(7, "status", *job);
  j.threads = a.threads(8);
  if (j.k > 4096) jsRangeError(a.env(), a.where("k") + " must be at most 4096");
  a.sameDtype(j.L, j.G, "L", "G");
  a.sameDtype(j.status, j.G, "status", "G");
  const uint64_t kk = static_cast<uint64_t>(j.k) * static_cast<uint64_t>(j.k);
  a.needLength(j.G, static_cast<uint64_t>(j.segs) * kk, "G");
  a.needLength(j.L, static_cast<uint64_t>(j.segs) * kk, "L");
  a.needLength(j.status, static_cast<uint64_t>(j.segs), "status");
  a.noAlias(j.L, j.G, "L", "G");
  a.noAlias(j.status, j.G, "status", "G");
  a.noAlias(j.status, j.L, "status", "L");
  if (j.hasRidge) {
    a.noAlias(j.L, j.ridge, "L", "ridge");
    a.noAlias(j.status, j.ridge, "status", "ridge");
  }
  j.cost = kFactorWeight * static_cast<double>(j.segs) * static_cast<double>(j.k) * static_cast<double>(kk) *
           (j.inverse ? 1.0 : 0.34);
  return Submit(info.Env(), std::move(job));
}

namespace {

// ---- choleskySolveBatch -------------------------------------------------------------------------------

struct CholSolveBatchJob : Job {
  FloatArray L, H, X;
  int64_t segs = 0, k = 0;

  void Execute() override {
    withDtype(X.dtype, [&](auto z) {
      using T = decltype(z);
      la::choleskySolveBatch(L.ptr<T>(), H.ptr<T>(), X.ptr<T>(), segs, k, threads);
      return 0;
    });
  }
};

}  // namespace

Napi::Value CholeskySolveBatch(const Napi::CallbackInfo& info) {
  const char* fn = "choleskySolveBatch";
  Args a(info, fn, 6);
  auto job = std::make_unique<CholSolveBatchJob>();
  CholSolveBatchJob& j = *job;
  j.L = a.floats(0, "L", *job);
  j.segs = a.dim(1, "segs");
  j.k = a.dim(2, "k");
  j.H = a.floats(3, "H", *job);
  j.X = a.floats(4, "X", *job);
  j.threads = a.threads(5);
  if (j.k > 4096) jsRangeError(a.env(), a.where("k") + " must be at most 4096");
  a.sameDtype(j.X, j.L, "X", "L");
  a.sameDtype(j.X, j.H, "X", "H");
  a.needLength(j.L, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k) * static_cast<uint64_t>(j.k), "L");
  a.needLength(j.H, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k), "H");
  a.needLength(j.X, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k), "X");
  a.noAlias(j.X, j.L, "X", "L");
  a.noAlias(j.X, j.H, "X", "H");
  j.cost = static_cast<double>(j.segs) * 2.0 * static_cast<double>(j.k) * static_cast<double>(j.k);
  return Submit(info.Env(), std::move(job));
}

}  // namespace seg
}  // namespace lr
