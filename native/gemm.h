// GEMM and friends: the one dense kernel everything else is built on.
#pragma once

#include <cstdint>

namespace lr {

// Row-major C[m x n] = alpha * op(A) * op(B) + beta * C.
//   op(A) is m x k: A is stored m x k with row stride lda, or (transA) k x m with row stride lda.
//   op(B) is k x n: B is stored k x n with row stride ldb, or (transB) n x k with row stride ldb.
// beta == 0 never reads C (it may hold NaN). Uses up to `threads` threads of the pool; pass 1 from
// inside a parallel region.
template <class T>
void gemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc, int threads);

extern template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                                 const float*, int64_t, float, float*, int64_t, int);
extern template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                                  const double*, int64_t, double, double*, int64_t, int);

// Human-readable name of the kernel chosen at load time, e.g. "avx512 f32 32x12 / f64 16x12".
const char* gemmKernelName();
// "avx512", "avx2", "neon" or "scalar".
const char* isaName();

}  // namespace lr
