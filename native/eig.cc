// Symmetric eigensolver and SVD (bindings; the algorithms live in eigh.cc, svd.cc and dc.cc).
#include "common.h"
#include "lapack.h"

namespace lr {
namespace {

using la::idx;

struct EighJob : Job {
  FloatArray A, w, V;
  idx n = 0;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      la::syevd<T>(n, A.ptr<T>(), n, w.ptr<double>(), V.ptr<T>(), n, threads);
      return 0;
    });
  }
};

// eigh(A, n, values: Float64Array(n), V, threads): lower triangle read, values descending.
Napi::Value Eigh(const Napi::CallbackInfo& info) {
  Args a(info, "eigh", 5);
  auto job = std::make_unique<EighJob>();
  job->A = a.floats(0, "A");
  job->n = a.dim(1, "n");
  job->w = a.floats(2, "values");
  job->V = a.floats(3, "V");
  job->threads = a.threads(4);
  a.needDtype(job->w, DType::F64, "values");
  a.sameDtype(job->A, job->V, "A", "V");
  a.needLength(job->A, static_cast<uint64_t>(job->n) * job->n, "A");
  a.needLength(job->w, static_cast<uint64_t>(job->n), "values");
  a.needLength(job->V, static_cast<uint64_t>(job->n) * job->n, "V");
  a.noAlias(job->V, job->A, "V", "A");
  a.noAlias(job->w, job->A, "values", "A");
  a.noAlias(job->w, job->V, "values", "V");
  double n = static_cast<double>(job->n);
  job->cost = kFactorWeight * (9 * n * n * n + n * n);
  job->keep(job->A);
  job->keep(job->w);
  job->keep(job->V);
  return Submit(info.Env(), std::move(job));
}

struct SvdJob : Job {
  FloatArray A, U, S, V;
  idx m = 0, n = 0;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      idx k = std::min(m, n);
      la::gesdd<T>(m, n, A.ptr<T>(), n, U.ptr<T>(), k, S.ptr<double>(), V.ptr<T>(), k, threads);
      return 0;
    });
  }
};

// svd(A, m, n, U, S: Float64Array(k), V, threads): thin, k = min(m, n), S descending.
Napi::Value Svd(const Napi::CallbackInfo& info) {
  Args a(info, "svd", 7);
  auto job = std::make_unique<SvdJob>();
  job->A = a.floats(0, "A");
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->U = a.floats(3, "U");
  job->S = a.floats(4, "S");
  job->V = a.floats(5, "V");
  job->threads = a.threads(6);
  a.needDtype(job->S, DType::F64, "S");
  a.sameDtype(job->A, job->U, "A", "U");
  a.sameDtype(job->A, job->V, "A", "V");
  uint64_t m = static_cast<uint64_t>(job->m), n = static_cast<uint64_t>(job->n), k = std::min(m, n);
  a.needLength(job->A, m * n, "A");
  a.needLength(job->U, m * k, "U");
  a.needLength(job->S, k, "S");
  a.needLength(job->V, n * k, "V");
  a.noAlias(job->U, job->A, "U", "A");
  a.noAlias(job->V, job->A, "V", "A");
  a.noAlias(job->S, job->A, "S", "A");
  a.noAlias(job->U, job->V, "U", "V");
  a.noAlias(job->U, job->S, "U", "S");
  a.noAlias(job->V, job->S, "V", "S");
  double dm = static_cast<double>(std::max(m, n)), dk = static_cast<double>(k);
  job->cost = kFactorWeight * (6 * dm * dk * dk + 20 * dk * dk * dk + dm * dk);
  job->keep(job->A);
  job->keep(job->U);
  job->keep(job->S);
  job->keep(job->V);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterEig(Napi::Env env, Napi::Object exports) {
  exports.Set("eigh", Napi::Function::New(env, Eigh, "eigh"));
  exports.Set("svd", Napi::Function::New(env, Svd, "svd"));
}

}  // namespace lr
