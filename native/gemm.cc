// N-API glue for gemm. The implementation is in gemm_driver.cc (driver, dispatch) and the
// gemm_<isa>.cc kernel sets; see gemm.h.
#include "gemm.h"

#include "common.h"

namespace lr {

namespace {

struct GemmJob : Job {
  FloatArray A, B, C;
  int64_t m, n, k;
  bool transA, transB;
  double alpha, beta;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      int64_t lda = transA ? m : k, ldb = transB ? k : n;
      gemm<T>(transA, transB, m, n, k, static_cast<T>(alpha), A.ptr<T>(), lda, B.ptr<T>(), ldb, static_cast<T>(beta),
              C.ptr<T>(), n, threads);
      return 0;
    });
  }
};

// gemm(A, B, C, m, n, k, transA, transB, alpha, beta, threads) -> Promise<void>
// C (m x n) = alpha op(A) op(B) + beta C; all row-major, dense, same dtype, C distinct from A and B.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a(info, "gemm", 11);
  auto job = std::make_unique<GemmJob>();
  job->A = a.floats(0, "A", *job);
  job->B = a.floats(1, "B", *job);
  job->C = a.floats(2, "C", *job);
  job->m = a.dim(3, "m");
  job->n = a.dim(4, "n");
  job->k = a.dim(5, "k");
  job->transA = a.boolean(6, "transA");
  job->transB = a.boolean(7, "transB");
  job->alpha = a.finite(8, "alpha");
  job->beta = a.finite(9, "beta");
  job->threads = a.threads(10);
  a.sameDtype(job->A, job->B, "A", "B");
  a.sameDtype(job->A, job->C, "A", "C");
  a.needLength(job->A, static_cast<uint64_t>(job->m) * job->k, "A");
  a.needLength(job->B, static_cast<uint64_t>(job->k) * job->n, "B");
  a.needLength(job->C, static_cast<uint64_t>(job->m) * job->n, "C");
  a.noAlias(job->C, job->A, "C", "A");
  a.noAlias(job->C, job->B, "C", "B");
  job->cost = 2.0 * job->m * job->n * job->k;
  return Submit(info.Env(), std::move(job));
}

struct SyrkJob : Job {
  FloatArray A, C;
  int64_t n, k;
  bool trans;
  bool full = false;  // gram(): both triangles, beta 0
  double alpha, beta;
  void Execute() override {
    withDtype(A.dtype, [&](auto z) {
      using T = decltype(z);
      if (full)
        gram<T>(trans, n, k, static_cast<T>(alpha), A.ptr<T>(), trans ? n : k, C.ptr<T>(), n, threads);
      else
        syrkLower<T>(trans, n, k, static_cast<T>(alpha), A.ptr<T>(), trans ? n : k, static_cast<T>(beta), C.ptr<T>(), n,
                     threads);
      return 0;
    });
  }
};

// syrk(A, C, n, k, trans, alpha, beta, threads) -> Promise<void>
// Lower triangle of C (n x n) = alpha op(A) op(A)^T + beta C, op(A) n x k (A is k x n when trans);
// entries above the diagonal are left untouched. Row-major, dense, same dtype, C distinct from A.
// gram(A, C, n, k, trans, alpha, threads) -> Promise<void>
// C (n x n, both triangles) = alpha op(A) op(A)^T (see gemm.h); C is never read.
Napi::Value SubmitSyrk(const Napi::CallbackInfo& info, bool full) {
  Args a(info, full ? "gram" : "syrk", full ? 7 : 8);
  auto job = std::make_unique<SyrkJob>();
  job->A = a.floats(0, "A", *job);
  job->C = a.floats(1, "C", *job);
  job->n = a.dim(2, "n");
  job->k = a.dim(3, "k");
  job->trans = a.boolean(4, "trans");
  job->alpha = a.finite(5, "alpha");
  job->beta = full ? 0 : a.finite(6, "beta");
  job->full = full;
  job->threads = a.threads(full ? 6 : 7);
  a.sameDtype(job->A, job->C, "A", "C");
  a.needLength(job->A, static_cast<uint64_t>(job->n) * job->k, "A");
  a.needLength(job->C, static_cast<uint64_t>(job->n) * job->n, "C");
  a.noAlias(job->C, job->A, "C", "A");
  job->cost = 1.0 * job->n * job->n * job->k;
  return Submit(info.Env(), std::move(job));
}

Napi::Value Syrk(const Napi::CallbackInfo& info) { return SubmitSyrk(info, false); }
Napi::Value Gram(const Napi::CallbackInfo& info) { return SubmitSyrk(info, true); }

}  // namespace

void RegisterGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("syrk", Napi::Function::New(env, Syrk, "syrk"));
  exports.Set("gram", Napi::Function::New(env, Gram, "gram"));
}

}  // namespace lr
