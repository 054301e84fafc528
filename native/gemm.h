// GEMM and friends: the one dense kernel everything else is built on.
//
// Implementation (gemm_driver.cc, gemm_body.h, gemm_<isa>.cc): GotoBLAS/BLIS-style packed GEMM with
// register-blocked microkernels chosen at load time (AVX-512 f32 32x12 / f64 16x12, and f64 24x8 for
// products with C at least 2048 x 2048 on Zen 4 or with LOWRANK_GEMM_BIG=on; AVX2+FMA 16x6 / 8x6, NEON
// 8x12 / 8x6, portable scalar 4x4), KC/MC/NC blocking from the cache sizes, the ic loop (and
// the jr loop for small m) shared by the pool threads, operands read in place instead of packed where
// packing would not pay (the small operand of small products and of A^T Q-like skinny ones: direct A';
// the big operand of a product with at most 128 columns: direct B'), long-k products with a small C
// split into chunks of k fixed by k (gemm_driver.cc: kSplitChunks), and an unpacked, bandwidth-oriented
// path when m or n is at most 4 (GEMV-like shapes). LOWRANK_ISA=avx2|scalar (read once, at the first call) forces
// a lower path, for testing; isaName() reports the path in use.
//
// Threads and reproducibility: every routine here uses at most `threads` threads of the pool
// (threadpool.h); pass 1 from inside a parallel region (the pool is never re-entered). Each output
// entry is computed with a fixed k order and a KC that do not depend on the thread count (a long-k
// product sums the partials of its fixed k chunks, each made by one thread, in chunk order), so results
// are bit-identical for any `threads`. Problems below a few MFLOP run on the caller.
#pragma once

#include <cstdint>

namespace lr {

// Row-major C[m x n] = alpha * op(A) * op(B) + beta * C.
//   op(A) is m x k: A is stored m x k with row stride lda, or (transA) k x m with row stride lda.
//   op(B) is k x n: B is stored k x n with row stride ldb, or (transB) n x k with row stride ldb.
// beta == 0 never reads C (it may hold NaN). k == 0 or alpha == 0 only scales C by beta (A and B are
// not read). Uses up to `threads` threads of the pool; pass 1 from inside a parallel region.
template <class T>
void gemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, int threads);

extern template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                                 int64_t, float, float*, int64_t, int);
extern template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                                  int64_t, double, double*, int64_t, int);

// Lower-triangle rank-k update (BLAS syrk, uplo = 'L'), row-major:
//   C_lower = alpha * op(A) * op(A)^T + beta * C_lower,   op(A) is n x k:
//   trans == false: A is stored n x k with row stride lda (C = alpha A A^T + beta C);
//   trans == true:  A is stored k x n with row stride lda (C = alpha A^T A + beta C, a Gram matrix).
// Only entries C[i * ldc + j] with j <= i are read or written; entries strictly above the diagonal
// are left untouched (they may hold anything). beta == 0 never reads C. About half the flops of the
// full product: micro-tiles strictly above the diagonal are skipped. Same threading and
// reproducibility rules as gemm.
template <class T>
void syrkLower(bool trans, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, T beta, T* C, int64_t ldc,
               int threads);

extern template void syrkLower<float>(bool, int64_t, int64_t, float, const float*, int64_t, float, float*, int64_t,
                                      int);
extern template void syrkLower<double>(bool, int64_t, int64_t, double, const double*, int64_t, double, double*, int64_t,
                                       int);

// Full Gram matrix (both triangles), row-major: C = alpha * op(A) * op(A)^T with op(A) as in syrkLower
// (trans: C = alpha A^T A). The lower triangle by syrkLower (about half the flops of gemm), then copied onto
// the upper one, so C is exactly symmetric (gemm's own A^T A need not be, in f32). C is never read. Same
// threading and reproducibility rules.
template <class T>
void gram(bool trans, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, T* C, int64_t ldc, int threads);

extern template void gram<float>(bool, int64_t, int64_t, float, const float*, int64_t, float*, int64_t, int);
extern template void gram<double>(bool, int64_t, int64_t, double, const double*, int64_t, double*, int64_t, int);

// Human-readable name of the kernels chosen at load time, e.g. "avx512 f32 32x12 f64 16x12".
const char* gemmKernelName();
// "avx512", "avx2", "neon" or "scalar": the path gemm runs on (after any LOWRANK_ISA override).
const char* isaName();

}  // namespace lr
