// Factorizations: qr, cholesky, solveTriangular, lstsq, lu (bindings; the algorithms live in qr.cc,
// chol.cc, solve_triangular.cc, lstsq.cc and lu.cc). Every argument is validated here, on the JS thread, before a job exists.
#include "common.h"
#include "lapack.h"

namespace lr {
namespace {

using la::idx;

// Flop estimates for Submit's inline/background decision.
double qrCost(double m, double n) { return 4 * m * n * n - 4.0 / 3 * n * n * n + m * n; }

struct QrJob : Job {
  FloatArray A, Q, R;
  idx m = 0, n = 0;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      T* q = Q.ptr<T>();
      if (m * n > 0) std::memcpy(q, A.ptr<T>(), sizeof(T) * static_cast<size_t>(m * n));
      la::QRFactors<T> f;
      la::geqrf<T>(m, n, q, n, R.ptr<T>(), n, f, threads);
      f.formQ(q, n, threads);
      return 0;
    });
  }
};

// qr(A, m, n, Q, R, threads): thin QR, m >= n.
Napi::Value Qr(const Napi::CallbackInfo& info) {
  Args a(info, "qr", 6);
  auto job = std::make_unique<QrJob>();
  job->A = a.floats(0, "A", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->Q = a.floats(3, "Q", *job);
  job->R = a.floats(4, "R", *job);
  job->threads = a.threads(5);
  a.sameDtype(job->A, job->Q, "A", "Q");
  a.sameDtype(job->A, job->R, "A", "R");
  if (job->m < job->n)
    jsRangeError(info.Env(),
                 "qr: thin QR needs m >= n, got m = " + std::to_string(job->m) + ", n = " + std::to_string(job->n));
  a.needLength(job->A, static_cast<uint64_t>(job->m) * job->n, "A");
  a.needLength(job->Q, static_cast<uint64_t>(job->m) * job->n, "Q");
  a.needLength(job->R, static_cast<uint64_t>(job->n) * job->n, "R");
  a.noAlias(job->Q, job->A, "Q", "A");
  a.noAlias(job->R, job->A, "R", "A");
  a.noAlias(job->R, job->Q, "R", "Q");
  job->cost = kFactorWeight * qrCost(static_cast<double>(job->m), static_cast<double>(job->n));
  return Submit(info.Env(), std::move(job));
}

struct CholJob : Job {
  FloatArray A, L;
  idx n = 0;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      const T* src = A.ptr<T>();
      T* l = L.ptr<T>();
      for (idx i = 0; i < n; ++i) {
        std::memcpy(l + i * n, src + i * n, sizeof(T) * static_cast<size_t>(i + 1));
        std::fill(l + i * n + i + 1, l + (i + 1) * n, T(0));
      }
      if (idx bad = la::potrf<T>(n, l, n, threads))
        throwRange("cholesky: the matrix is not positive definite (the leading minor of order " + std::to_string(bad) +
                   " is not positive)");
      return 0;
    });
  }
};

// cholesky(A, n, L, threads): lower triangle of A read; RangeError (rejection) when not positive definite.
Napi::Value Cholesky(const Napi::CallbackInfo& info) {
  Args a(info, "cholesky", 4);
  auto job = std::make_unique<CholJob>();
  job->A = a.floats(0, "A", *job);
  job->n = a.dim(1, "n");
  job->L = a.floats(2, "L", *job);
  job->threads = a.threads(3);
  a.sameDtype(job->A, job->L, "A", "L");
  a.needLength(job->A, static_cast<uint64_t>(job->n) * job->n, "A");
  a.needLength(job->L, static_cast<uint64_t>(job->n) * job->n, "L");
  a.noAlias(job->L, job->A, "L", "A");
  double n = static_cast<double>(job->n);
  job->cost = kFactorWeight * (n * n * n / 3 + n * n);
  return Submit(info.Env(), std::move(job));
}

struct SolveTriangularJob : Job {
  FloatArray Tm, B, X;
  idx n = 0, nrhs = 0;
  bool lower = true, trans = false;
  void Execute() override {
    withDtype(Tm.dtype, [&](auto z) {
      using T = decltype(z);
      const T* t = Tm.ptr<T>();
      for (idx i = 0; i < n; ++i)
        if (t[i * n + i] == T(0))
          throwRange("solveTriangular: T is singular (diagonal entry " + std::to_string(i) + " is exactly zero)");
      T* x = X.ptr<T>();
      if (n * nrhs > 0) std::memcpy(x, B.ptr<T>(), sizeof(T) * static_cast<size_t>(n * nrhs));
      la::trsmLeft<T>(lower, trans, n, nrhs, t, n, x, nrhs, threads);
      return 0;
    });
  }
};

// solveTriangular(T, n, B, nrhs, lower, trans, X, threads): op(T) X = B.
Napi::Value SolveTriangular(const Napi::CallbackInfo& info) {
  Args a(info, "solveTriangular", 8);
  auto job = std::make_unique<SolveTriangularJob>();
  job->Tm = a.floats(0, "T", *job);
  job->n = a.dim(1, "n");
  job->B = a.floats(2, "B", *job);
  job->nrhs = a.dim(3, "nrhs");
  job->lower = a.boolean(4, "lower");
  job->trans = a.boolean(5, "trans");
  job->X = a.floats(6, "X", *job);
  job->threads = a.threads(7);
  a.sameDtype(job->Tm, job->B, "T", "B");
  a.sameDtype(job->Tm, job->X, "T", "X");
  a.needLength(job->Tm, static_cast<uint64_t>(job->n) * job->n, "T");
  a.needLength(job->B, static_cast<uint64_t>(job->n) * job->nrhs, "B");
  a.needLength(job->X, static_cast<uint64_t>(job->n) * job->nrhs, "X");
  a.noAlias(job->X, job->Tm, "X", "T");
  a.noAlias(job->X, job->B, "X", "B");
  double n = static_cast<double>(job->n);
  job->cost = kFactorWeight * (n * n * static_cast<double>(job->nrhs) + n);
  return Submit(info.Env(), std::move(job));
}

struct LstsqJob : Job {
  FloatArray A, B, X;
  idx m = 0, n = 0, nrhs = 0;
  idx rank = 0;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      rank = la::gelsq<T>(m, n, nrhs, A.ptr<T>(), B.ptr<T>(), X.ptr<T>(), threads);
      return 0;
    });
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("rank", Napi::Number::New(env, static_cast<double>(rank)));
    return o;
  }
};

// lstsq(A, m, n, B, nrhs, X, threads) -> Promise<{ rank }>.
Napi::Value Lstsq(const Napi::CallbackInfo& info) {
  Args a(info, "lstsq", 7);
  auto job = std::make_unique<LstsqJob>();
  job->A = a.floats(0, "A", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->B = a.floats(3, "B", *job);
  job->nrhs = a.dim(4, "nrhs");
  job->X = a.floats(5, "X", *job);
  job->threads = a.threads(6);
  a.sameDtype(job->A, job->B, "A", "B");
  a.sameDtype(job->A, job->X, "A", "X");
  a.needLength(job->A, static_cast<uint64_t>(job->m) * job->n, "A");
  a.needLength(job->B, static_cast<uint64_t>(job->m) * job->nrhs, "B");
  a.needLength(job->X, static_cast<uint64_t>(job->n) * job->nrhs, "X");
  a.noAlias(job->X, job->A, "X", "A");
  a.noAlias(job->X, job->B, "X", "B");
  double m = static_cast<double>(job->m), n = static_cast<double>(job->n), r = static_cast<double>(job->nrhs);
  double k = std::min(m, n);
  job->cost = kFactorWeight * (2 * std::max(m, n) * k * k + 4 * m * n * r + m * n);
  return Submit(info.Env(), std::move(job));
}

struct LuJob : Job {
  FloatArray A, PL, U;
  int64_t m = 0, n = 0;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      la::getrfPermuteL<T>(m, n, A.ptr<T>(), PL.ptr<T>(), U.ptr<T>(), threads);
      return 0;
    });
  }
};

// lu(A, m, n, PL, U, threads): A = PL U with partial pivoting, m >= n (lu.cc).
Napi::Value Lu(const Napi::CallbackInfo& info) {
  Args a(info, "lu", 6);
  auto job = std::make_unique<LuJob>();
  job->A = a.floats(0, "A", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->PL = a.floats(3, "PL", *job);
  job->U = a.floats(4, "U", *job);
  job->threads = a.threads(5);
  a.sameDtype(job->A, job->PL, "A", "PL");
  a.sameDtype(job->A, job->U, "A", "U");
  if (job->m < job->n)
    jsRangeError(info.Env(), "lu: needs m >= n, got m = " + std::to_string(job->m) + ", n = " + std::to_string(job->n));
  a.needLength(job->A, static_cast<uint64_t>(job->m) * job->n, "A");
  a.needLength(job->PL, static_cast<uint64_t>(job->m) * job->n, "PL");
  a.needLength(job->U, static_cast<uint64_t>(job->n) * job->n, "U");
  a.noAlias(job->PL, job->A, "PL", "A");
  a.noAlias(job->U, job->A, "U", "A");
  a.noAlias(job->U, job->PL, "U", "PL");
  const double m = static_cast<double>(job->m), n = static_cast<double>(job->n);
  job->cost = kFactorWeight * (m * n * n + m * n);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterFactor(Napi::Env env, Napi::Object exports) {
  exports.Set("qr", Napi::Function::New(env, Qr, "qr"));
  exports.Set("cholesky", Napi::Function::New(env, Cholesky, "cholesky"));
  exports.Set("solveTriangular", Napi::Function::New(env, SolveTriangular, "solveTriangular"));
  exports.Set("lstsq", Napi::Function::New(env, Lstsq, "lstsq"));
  exports.Set("lu", Napi::Function::New(env, Lu, "lu"));
}

}  // namespace lr
