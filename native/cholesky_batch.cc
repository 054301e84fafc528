// choleskyBatch / choleskySolveBatch: batched small Cholesky factorizations and solves (see completion.cc for the contract; shared pieces in completion.h).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "completion.h"
#include "csr.h"
#include "threadpool.h"

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
      const T* Gp = G.ptr<T>();
      T* Lp = L.ptr<T>();
      T* St = status.ptr<T>();
      const double* rp = hasRidge ? ridge.ptr<double>() : nullptr;
      const int64_t kk = k;
      const T u = std::numeric_limits<T>::epsilon() / 2;
      parallelFor(threads, segs, [&](int64_t j, int) {
        const T* g = Gp + j * kk * kk;
        T* l = Lp + j * kk * kk;
        T tr = 0;
        for (int64_t a = 0; a < kk; ++a) tr += g[a * kk + a];
        auto load = [&] {
          for (int64_t a = 0; a < kk; ++a)
            for (int64_t c = 0; c < kk; ++c) l[a * kk + c] = c <= a ? g[a * kk + c] : T(0);
        };
        const T tiny = static_cast<T>(kk) * u * tr;
        T st = 0;
        bool good = std::isfinite(tr) && tr > 0;
        if (good) {
          const T lam =
              static_cast<T>((rp ? std::max(rp[j], 0.0) : 0.0) * static_cast<double>(tr) / static_cast<double>(kk));
          load();
          good = segKernels<T>().chol(l, kk, lam, tiny);
          if (!good && fallback > 0) {
            const T lam2 = std::max(lam, static_cast<T>(fallback * static_cast<double>(tr) / static_cast<double>(kk)));
            load();
            good = segKernels<T>().chol(l, kk, lam2, tiny);
            st = 1;
          }
        }
        if (!good) {
          std::fill(l, l + kk * kk, T(0));
          St[j] = 2;
          return;
        }
        St[j] = st;
        if (inverse) {
          // Column c of L^{-1} (solve L w = e_c; rows < c are 0) reads only the lower triangle of L,
          // so the columns are computed right to left and parked transposed in the strict upper
          // triangle; the diagonal 1 / L[c, c] and the move to the lower triangle come last.
          std::vector<T> w(static_cast<size_t>(kk));
          for (int64_t c = kk - 1; c >= 0; --c) {
            for (int64_t i = c; i < kk; ++i) {
              T s = i == c ? T(1) : T(0);
              for (int64_t t = c; t < i; ++t) s -= l[i * kk + t] * w[t];
              w[i] = s / l[i * kk + i];
            }
            for (int64_t i = c + 1; i < kk; ++i) l[c * kk + i] = w[i];
          }
          for (int64_t c = 0; c < kk; ++c) {
            l[c * kk + c] = T(1) / l[c * kk + c];
            for (int64_t i = c + 1; i < kk; ++i) {
              l[i * kk + c] = l[c * kk + i];
              l[c * kk + i] = 0;
            }
          }
        }
      });
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
    if (k == 0) return;
    withDtype(X.dtype, [&](auto z) {
      using T = decltype(z);
      const int64_t kk = k;
      const T* Lp = L.ptr<T>();
      const T* Hp = H.ptr<T>();
      T* Xp = X.ptr<T>();
      parallelFor(threads, segs, [&](int64_t j, int) {
        const T* l = Lp + j * kk * kk;
        const T* h = Hp + j * kk;
        T* x = Xp + j * kk;
        if (l[0] == T(0)) {
          std::fill(x, x + kk, T(0));
          return;
        }
        for (int64_t i = 0; i < kk; ++i) {
          T s = h[i];
          for (int64_t t = 0; t < i; ++t) s -= l[i * kk + t] * x[t];
          x[i] = s / l[i * kk + i];
        }
        for (int64_t i = kk - 1; i >= 0; --i) {
          T s = x[i];
          for (int64_t t = i + 1; t < kk; ++t) s -= l[t * kk + i] * x[t];
          x[i] = s / l[i * kk + i];
        }
      });
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
