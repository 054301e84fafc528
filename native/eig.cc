// Eigensolvers and SVD: eigh, svd, svdvals, eigGeneral, eigGeneralComplex (bindings; the algorithms live
// in eigh.cc, svd.cc, dc.cc, svdvals.cc and eig_general.cc).
#include <cmath>

#include "common.h"
#include "eig_general.h"
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
  job->A = a.floats(0, "A", *job);
  job->n = a.dim(1, "n");
  job->w = a.floats(2, "values", *job);
  job->V = a.floats(3, "V", *job);
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
  job->A = a.floats(0, "A", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->U = a.floats(3, "U", *job);
  job->S = a.floats(4, "S", *job);
  job->V = a.floats(5, "V", *job);
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
  return Submit(info.Env(), std::move(job));
}

struct SvdvalsJob : Job {
  FloatArray A, S;
  idx m = 0, n = 0;
  void Execute() override {
    int status = withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      return la::gesvdvals<T>(m, n, A.ptr<T>(), n, S.ptr<double>(), threads);
    });
    if (status == 1) throwRange("svdvals: argument 'A' has a non-finite entry");
    if (status == 2) throwGeneric("svdvals: the bidiagonal QR iteration did not converge");
  }
};

// svdvals(A, m, n, S: Float64Array(min(m, n)), threads): singular values only, descending.
Napi::Value Svdvals(const Napi::CallbackInfo& info) {
  Args a(info, "svdvals", 5);
  auto job = std::make_unique<SvdvalsJob>();
  job->A = a.floats(0, "A", *job);
  job->m = a.dim(1, "m");
  job->n = a.dim(2, "n");
  job->S = a.floats(3, "S", *job);
  job->threads = a.threads(4);
  a.needDtype(job->S, DType::F64, "S");
  uint64_t m = static_cast<uint64_t>(job->m), n = static_cast<uint64_t>(job->n), k = std::min(m, n);
  a.needLength(job->A, m * n, "A");
  a.needLength(job->S, k, "S");
  a.noAlias(job->S, job->A, "S", "A");
  double dm = static_cast<double>(std::max(m, n)), dk = static_cast<double>(k);
  job->cost = kFactorWeight * (4 * dm * dk * dk + 30 * dk * dk + dm * dk);
  return Submit(info.Env(), std::move(job));
}

struct EigGeneralJob : Job {
  FloatArray A, wr, wi, vr, vi;
  int64_t n = 0;
  void Execute() override {
    const double* a = A.ptr<double>();
    for (size_t i = 0; i < static_cast<size_t>(n) * static_cast<size_t>(n); ++i)
      if (!std::isfinite(a[i])) throwRange("eigGeneral: argument 'A' has a non-finite entry");
    if (!la::eigGeneral(n, a, wr.ptr<double>(), wi.ptr<double>(), vr.ptr<double>(), vi.ptr<double>()))
      throwGeneric("eigGeneral: the QR iteration did not converge");
  }
};

// eigGeneral(A: Float64Array(n*n) row-major, n, valuesRe, valuesIm: Float64Array(n),
//            vectorsRe, vectorsIm: Float64Array(n*n), threads): A V = V diag(values), unit columns.
Napi::Value EigGeneral(const Napi::CallbackInfo& info) {
  Args a(info, "eigGeneral", 7);
  auto job = std::make_unique<EigGeneralJob>();
  job->A = a.floats(0, "A", *job);
  job->n = a.dim(1, "n");
  job->wr = a.floats(2, "valuesRe", *job);
  job->wi = a.floats(3, "valuesIm", *job);
  job->vr = a.floats(4, "vectorsRe", *job);
  job->vi = a.floats(5, "vectorsIm", *job);
  job->threads = a.threads(6);
  a.needDtype(job->A, DType::F64, "A");
  a.needDtype(job->wr, DType::F64, "valuesRe");
  a.needDtype(job->wi, DType::F64, "valuesIm");
  a.needDtype(job->vr, DType::F64, "vectorsRe");
  a.needDtype(job->vi, DType::F64, "vectorsIm");
  uint64_t n = static_cast<uint64_t>(job->n);
  a.needLength(job->A, n * n, "A");
  a.needLength(job->wr, n, "valuesRe");
  a.needLength(job->wi, n, "valuesIm");
  a.needLength(job->vr, n * n, "vectorsRe");
  a.needLength(job->vi, n * n, "vectorsIm");
  const FloatArray* outs[] = {&job->wr, &job->wi, &job->vr, &job->vi};
  const char* names[] = {"valuesRe", "valuesIm", "vectorsRe", "vectorsIm"};
  for (int i = 0; i < 4; ++i) {
    a.noAlias(*outs[i], job->A, names[i], "A");
    for (int k = i + 1; k < 4; ++k) a.noAlias(*outs[i], *outs[k], names[i], names[k]);
  }
  double dn = static_cast<double>(n);
  job->cost = kFactorWeight * 25 * dn * dn * dn;
  return Submit(info.Env(), std::move(job));
}

struct EigComplexJob : Job {
  FloatArray ar, ai, wr, wi, vr, vi;
  int64_t n = 0;
  void Execute() override {
    const double* re = ar.ptr<double>();
    const double* im = ai.ptr<double>();
    for (size_t i = 0; i < static_cast<size_t>(n) * static_cast<size_t>(n); ++i)
      if (!std::isfinite(re[i]) || !std::isfinite(im[i]))
        throwRange("eigGeneralComplex: argument 'A' has a non-finite entry");
    if (!la::eigGeneralComplex(n, re, im, wr.ptr<double>(), wi.ptr<double>(), vr.ptr<double>(), vi.ptr<double>()))
      throwGeneric("eigGeneralComplex: the QR iteration did not converge");
  }
};

// eigGeneralComplex(Are, Aim: Float64Array(n*n), n, valuesRe, valuesIm (n), vectorsRe, vectorsIm (n*n), threads).
Napi::Value EigGeneralComplex(const Napi::CallbackInfo& info) {
  Args a(info, "eigGeneralComplex", 8);
  auto job = std::make_unique<EigComplexJob>();
  job->ar = a.floats(0, "Are", *job);
  job->ai = a.floats(1, "Aim", *job);
  job->n = a.dim(2, "n");
  job->wr = a.floats(3, "valuesRe", *job);
  job->wi = a.floats(4, "valuesIm", *job);
  job->vr = a.floats(5, "vectorsRe", *job);
  job->vi = a.floats(6, "vectorsIm", *job);
  job->threads = a.threads(7);
  FloatArray* all[] = {&job->ar, &job->ai, &job->wr, &job->wi, &job->vr, &job->vi};
  const char* names[] = {"Are", "Aim", "valuesRe", "valuesIm", "vectorsRe", "vectorsIm"};
  for (int i = 0; i < 6; ++i) a.needDtype(*all[i], DType::F64, names[i]);
  uint64_t n = static_cast<uint64_t>(job->n);
  const uint64_t lens[] = {n * n, n * n, n, n, n * n, n * n};
  for (int i = 0; i < 6; ++i) a.needLength(*all[i], lens[i], names[i]);
  for (int i = 2; i < 6; ++i) {
    for (int k = 0; k < 6; ++k)
      if (k != i) a.noAlias(*all[i], *all[k], names[i], names[k]);
  }
  double dn = static_cast<double>(n);
  job->cost = kFactorWeight * 100 * dn * dn * dn;
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterEig(Napi::Env env, Napi::Object exports) {
  exports.Set("eigh", Napi::Function::New(env, Eigh, "eigh"));
  exports.Set("svd", Napi::Function::New(env, Svd, "svd"));
  exports.Set("svdvals", Napi::Function::New(env, Svdvals, "svdvals"));
  exports.Set("eigGeneral", Napi::Function::New(env, EigGeneral, "eigGeneral"));
  exports.Set("eigGeneralComplex", Napi::Function::New(env, EigGeneralComplex, "eigGeneralComplex"));
}

}  // namespace lr
