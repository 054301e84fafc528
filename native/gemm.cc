// Reference GEMM (correct, modestly fast). Replaced by the packed BLIS-style kernels.
#include "gemm.h"

#include <vector>

#include "common.h"
#include "threadpool.h"

namespace lr {

template <class T>
void gemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int threads) {
  if (m <= 0 || n <= 0) return;
  parallelRanges(threads, m, 16, [&](int64_t i0, int64_t i1, int) {
    std::vector<T> brow(static_cast<size_t>(n));
    for (int64_t i = i0; i < i1; ++i) {
      T* c = C + i * ldc;
      std::vector<T> acc(static_cast<size_t>(n), T(0));
      for (int64_t p = 0; p < k; ++p) {
        T a = transA ? A[p * lda + i] : A[i * lda + p];
        if (a == T(0)) continue;
        if (!transB) {
          const T* b = B + p * ldb;
          for (int64_t j = 0; j < n; ++j) acc[j] += a * b[j];
        } else {
          for (int64_t j = 0; j < n; ++j) acc[j] += a * B[j * ldb + p];
        }
      }
      if (beta == T(0)) for (int64_t j = 0; j < n; ++j) c[j] = alpha * acc[j];
      else for (int64_t j = 0; j < n; ++j) c[j] = alpha * acc[j] + beta * c[j];
    }
  });
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t, int);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t, int);

const char* gemmKernelName() { return "reference"; }
const char* isaName() { return "scalar"; }

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
      gemm<T>(transA, transB, m, n, k, static_cast<T>(alpha), A.ptr<T>(), lda, B.ptr<T>(), ldb,
              static_cast<T>(beta), C.ptr<T>(), n, threads);
      return 0;
    });
  }
};

// gemm(A, B, C, m, n, k, transA, transB, alpha, beta, threads) -> Promise<void>
// C (m x n) = alpha op(A) op(B) + beta C; all row-major, dense, same dtype, C distinct from A and B.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args a(info, "gemm", 11);
  auto job = std::make_unique<GemmJob>();
  job->A = a.floats(0, "A");
  job->B = a.floats(1, "B");
  job->C = a.floats(2, "C");
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
  job->keep(job->A);
  job->keep(job->B);
  job->keep(job->C);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterGemm(Napi::Env env, Napi::Object exports) { exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm")); }

}  // namespace lr
