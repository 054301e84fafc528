// LU with partial pivoting of a tall m x n row-major matrix (m >= n), in scipy's permute_l form (the
// algorithm; the lu binding is in factor.cc):
// A = PL U, PL = P L (m x n, the unit lower trapezoidal L with its rows in A's row order), U n x n.
//
// Recursive LU (Toledo 1997; LAPACK dgetrf2) on a column-major copy W of A, rows swapped as in getrf:
//   lu(columns [j0, j0 + nc), rows [j0, m)):
//     nc <= kLeaf: unblocked leaf (below);
//     else n1 = nc / 2: lu(left n1 columns); apply their row swaps to the right columns;
//       A12 = L11^-1 A12 (recursive unit lower TRSM, level-3 below its leaf);
//       A22 -= A21 A12; lu(right columns); apply their row swaps to the left columns.
// Leaf, per column j: pivot = first row of largest |W[i, j]| among rows >= j (NaN ranks below every
// number, as before), swap rows j and p inside the leaf, then one pass down the leaf's columns: the
// multipliers scaled by 1 / pivot, the rank-1 update of the leaf's remaining columns and the pivot search
// of column j + 1 on the freshly updated entries (vectorized where the ISA allows, same operations and
// bits on every path). The updates with k <= kSmallK (all of a narrow panel's) run in an unpacked FMA
// kernel where the ISA has one, the rest in lr::gemm. Passes over many rows are split into fixed row
// chunks (merged in row order), so results are bit-identical for any thread count; gemm is too.
// At the end row i of W is row perm[i] of A: PL gets L's rows scattered back to A's row order (unit
// diagonal, zeros to the right on the pivot rows) by a transposing copy, and U is read off the first n rows.
// A zero pivot (a zero column among the remaining rows) leaves the multipliers unscaled (zero), as
// getrf does. Scratch: W (m x n).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "gemm.h"
#include "isa.h"
#include "lapack.h"
#include "threadpool.h"

#if LR_X86
#include <immintrin.h>
#endif

namespace lr {
namespace la {
// ---- leaf kernels -------------------------------------------------------------------------------------
// On a column-major leaf panel X (columns 0, 1, ... of the leaf, ld): search (the pivot candidate of one
// column) and step (left-looking, rows [0, n) below the pivot of column j - 1: its multipliers
// l = x * f (kMul), x / f (kDiv) or x (kKeep, zero pivot), then, when `next`, column j -= X[:, k] u[k]
// for k = 0 .. j - 1 in that order (the last with the fresh l) and the pivot candidate of column j; the
// same operations in the same order as a right-looking rank-1 update per step). Rows are given relative
// to row0; n <= kRowChunk (int32 lane indices).
// Every path multiplies and subtracts separately (no FMA) with the same operations per entry, so all
// ISAs give the same bits.
namespace luk {

// Candidate of a pivot search: key |x| (NaN -> -1, none -> -2) and row; larger key wins, then lower row.
struct Cand {
  double key = -2.0;
  int64_t row = -1;
  void offer(double v, int64_t i) {
    double k = std::isnan(v) ? -1.0 : std::fabs(v);
    if (k > key) {
      key = k;
      row = i;
    }  // rows arrive in increasing order within a chunk
  }
  void merge(const Cand& o) {
    if (o.key > key || (o.key == key && o.row >= 0 && (row < 0 || o.row < row))) {
      key = o.key;
      row = o.row;
    }
  }
};

enum Mode { kMul = 0, kDiv = 1, kKeep = 2 };

template <class T>
struct LeafKernels {
  Cand (*search)(const T* x, int64_t n, int64_t row0);
  Cand (*step)(T* X, int64_t ld, int64_t n, int j, bool next, const T* u, T f, int mode, int64_t row0);
  // Rows [0, r) of the column-major C (r x c) -= A (r x k) B (k x c), all with ld, k <= kSmallK, as one
  // sum over k per entry (FMA) subtracted from C; null where lr::gemm does the small updates too.
  void (*update)(int64_t r, int64_t c, int64_t k, const T* A, const T* B, T* C, int64_t ld);
  // Transposing copies of rows [0, r) and columns [0, c): W[j * ldw + i] = A[i * lda + j] (copyIn) and
  // P[perm[i] * ldp + j] = W[j * ldw + i] (copyOut).
  void (*copyIn)(int64_t r, int64_t c, const T* A, int64_t lda, T* W, int64_t ldw);
  void (*copyOut)(int64_t r, int64_t c, const T* W, int64_t ldw, T* P, int64_t ldp, const int64_t* perm);
};

namespace scalar {
template <class T>
Cand search(const T* x, int64_t n, int64_t row0) {
  Cand best;
  for (int64_t i = 0; i < n; ++i) best.offer(static_cast<double>(x[i]), row0 + i);
  return best;
}
template <class T>
Cand step(T* X, int64_t ld, int64_t n, int j, bool next, const T* u, T f, int mode, int64_t row0) {
  Cand best;
  T* x = X + (j - 1) * ld;
  T* y = X + j * ld;
  for (int64_t i = 0; i < n; ++i) {
    const T l = mode == kMul ? x[i] * f : mode == kDiv ? x[i] / f : x[i];
    x[i] = l;
    if (!next) continue;
    T acc = y[i];
    for (int k = 0; k + 1 < j; ++k) acc -= X[k * ld + i] * u[k];
    acc -= l * u[j - 1];
    y[i] = acc;
    best.offer(static_cast<double>(acc), row0 + i);
  }
  return best;
}
template <class T>
void copyIn(int64_t r, int64_t c, const T* A, int64_t lda, T* W, int64_t ldw) {
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) W[j * ldw + i] = A[i * lda + j];
}
template <class T>
void copyOut(int64_t r, int64_t c, const T* W, int64_t ldw, T* P, int64_t ldp, const int64_t* perm) {
  for (int64_t i = 0; i < r; ++i) {
    T* pi = P + perm[i] * ldp;
    for (int64_t j = 0; j < c; ++j) pi[j] = W[j * ldw + i];
  }
}
}  // namespace scalar

}  // namespace luk
}  // namespace la
}  // namespace lr

#if LR_X86
LR_TARGET_AVX2_BEGIN
namespace lr {
namespace la {
namespace luk {
namespace avx2 {

#define LR_LU_INLINE inline __attribute__((always_inline))

struct Vd {
  using T = double;
  using R = __m256d;
  using I = __m256d;  // lane row indices, exact as doubles (n <= kRowChunk)
  static constexpr int W = 4;
  static LR_LU_INLINE R set1(T v) { return _mm256_set1_pd(v); }
  static LR_LU_INLINE R loadu(const T* p) { return _mm256_loadu_pd(p); }
  static LR_LU_INLINE void storeu(T* p, R v) { _mm256_storeu_pd(p, v); }
  static LR_LU_INLINE R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static LR_LU_INLINE R div(R a, R b) { return _mm256_div_pd(a, b); }
  static LR_LU_INLINE R sub(R a, R b) { return _mm256_sub_pd(a, b); }
  static LR_LU_INLINE R fmadd(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  // |x|, NaN -> -1
  static LR_LU_INLINE R key(R x) {
    const R a = _mm256_andnot_pd(_mm256_set1_pd(-0.0), x);
    return _mm256_blendv_pd(a, _mm256_set1_pd(-1.0), _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
  }
  static LR_LU_INLINE R gt(R a, R b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  static LR_LU_INLINE R blend(R a, R b, R m) { return _mm256_blendv_pd(a, b, m); }
  static LR_LU_INLINE I iota() { return _mm256_set_pd(3, 2, 1, 0); }
  static LR_LU_INLINE I iadd(I a, I b) { return _mm256_add_pd(a, b); }
  static LR_LU_INLINE I iset1(int v) { return _mm256_set1_pd(v); }
  static LR_LU_INLINE I iblend(I a, I b, R m) { return _mm256_blendv_pd(a, b, m); }
  static LR_LU_INLINE void istore(int64_t* out, I v) {
    double t[W];
    _mm256_storeu_pd(t, v);
    for (int k = 0; k < W; ++k) out[k] = static_cast<int64_t>(t[k]);
  }
};

struct Vf {
  using T = float;
  using R = __m256;
  using I = __m256i;  // lane row indices, int32 (n <= kRowChunk)
  static constexpr int W = 8;
  static LR_LU_INLINE R set1(T v) { return _mm256_set1_ps(v); }
  static LR_LU_INLINE R loadu(const T* p) { return _mm256_loadu_ps(p); }
  static LR_LU_INLINE void storeu(T* p, R v) { _mm256_storeu_ps(p, v); }
  static LR_LU_INLINE R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static LR_LU_INLINE R div(R a, R b) { return _mm256_div_ps(a, b); }
  static LR_LU_INLINE R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static LR_LU_INLINE R fmadd(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static LR_LU_INLINE R key(R x) {
    const R a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    return _mm256_blendv_ps(a, _mm256_set1_ps(-1.0f), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  }
  static LR_LU_INLINE R gt(R a, R b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static LR_LU_INLINE R blend(R a, R b, R m) { return _mm256_blendv_ps(a, b, m); }
  static LR_LU_INLINE I iota() { return _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0); }
  static LR_LU_INLINE I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static LR_LU_INLINE I iset1(int v) { return _mm256_set1_epi32(v); }
  static LR_LU_INLINE I iblend(I a, I b, R m) {
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), m));
  }
  static LR_LU_INLINE void istore(int64_t* out, I v) {
    int32_t t[W];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(t), v);
    for (int k = 0; k < W; ++k) out[k] = t[k];
  }
};

#include "lu_leaf_body.h"

// 4 x 4 blocks through registers (the rest of the rows and columns by the scalar copies).
template <class T>
void copyIn(int64_t r, int64_t c, const T* A, int64_t lda, T* W, int64_t ldw) {
  const int64_t r4 = r & ~int64_t(3), c4 = c & ~int64_t(3);
  for (int64_t i = 0; i < r4; i += 4) {
    const T* a = A + i * lda;
    for (int64_t j = 0; j < c4; j += 4) {
      T* w = W + j * ldw + i;
      if constexpr (sizeof(T) == 8) {
        const __m256d r0 = _mm256_loadu_pd(a + j), r1 = _mm256_loadu_pd(a + lda + j),
                      r2 = _mm256_loadu_pd(a + 2 * lda + j), r3 = _mm256_loadu_pd(a + 3 * lda + j);
        const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1), t2 = _mm256_unpacklo_pd(r2, r3),
                      t3 = _mm256_unpackhi_pd(r2, r3);
        _mm256_storeu_pd(w, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(w + ldw, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(w + 2 * ldw, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(w + 3 * ldw, _mm256_permute2f128_pd(t1, t3, 0x31));
      } else {
        __m128 r0 = _mm_loadu_ps(a + j), r1 = _mm_loadu_ps(a + lda + j), r2 = _mm_loadu_ps(a + 2 * lda + j),
               r3 = _mm_loadu_ps(a + 3 * lda + j);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(w, r0);
        _mm_storeu_ps(w + ldw, r1);
        _mm_storeu_ps(w + 2 * ldw, r2);
        _mm_storeu_ps(w + 3 * ldw, r3);
      }
    }
    scalar::copyIn<T>(4, c - c4, a + c4, lda, W + c4 * ldw + i, ldw);
  }
  scalar::copyIn<T>(r - r4, c, A + r4 * lda, lda, W + r4, ldw);
}

template <class T>
void copyOut(int64_t r, int64_t c, const T* W, int64_t ldw, T* P, int64_t ldp, const int64_t* perm) {
  const int64_t r4 = r & ~int64_t(3), c4 = c & ~int64_t(3);
  for (int64_t i = 0; i < r4; i += 4) {
    T *p0 = P + perm[i] * ldp, *p1 = P + perm[i + 1] * ldp, *p2 = P + perm[i + 2] * ldp, *p3 = P + perm[i + 3] * ldp;
    for (int64_t j = 0; j < c4; j += 4) {
      const T* w = W + j * ldw + i;
      if constexpr (sizeof(T) == 8) {
        const __m256d r0 = _mm256_loadu_pd(w), r1 = _mm256_loadu_pd(w + ldw), r2 = _mm256_loadu_pd(w + 2 * ldw),
                      r3 = _mm256_loadu_pd(w + 3 * ldw);
        const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1), t2 = _mm256_unpacklo_pd(r2, r3),
                      t3 = _mm256_unpackhi_pd(r2, r3);
        _mm256_storeu_pd(p0 + j, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(p1 + j, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(p2 + j, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(p3 + j, _mm256_permute2f128_pd(t1, t3, 0x31));
      } else {
        __m128 r0 = _mm_loadu_ps(w), r1 = _mm_loadu_ps(w + ldw), r2 = _mm_loadu_ps(w + 2 * ldw),
               r3 = _mm_loadu_ps(w + 3 * ldw);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(p0 + j, r0);
        _mm_storeu_ps(p1 + j, r1);
        _mm_storeu_ps(p2 + j, r2);
        _mm_storeu_ps(p3 + j, r3);
      }
    }
    scalar::copyOut<T>(4, c - c4, W + c4 * ldw + i, ldw, P + c4, ldp, perm + i);
  }
  scalar::copyOut<T>(r - r4, c, W + r4, ldw, P, ldp, perm + r4);
}

#undef LR_LU_INLINE

}  // namespace avx2
}  // namespace luk
}  // namespace la
}  // namespace lr
LR_TARGET_END
#endif

// The leaf kernels again with 512-bit vectors (AVX-512F/BW/DQ/VL; lu_leaf_body.h): the same per-lane
// operations as the AVX2 ones, so the same bits, at twice the width.
#if LR_X86
LR_TARGET_AVX512_BEGIN
namespace lr {
namespace la {
namespace luk {
namespace avx512 {

#define LR_LU_INLINE inline __attribute__((always_inline))

struct Vd {
  using T = double;
  using R = __m512d;
  using I = __m512d;  // lane row indices, exact as doubles (n <= kRowChunk)
  using M = __mmask8;
  static constexpr int W = 8;
  static LR_LU_INLINE R set1(T v) { return _mm512_set1_pd(v); }
  static LR_LU_INLINE R loadu(const T* p) { return _mm512_loadu_pd(p); }
  static LR_LU_INLINE void storeu(T* p, R v) { _mm512_storeu_pd(p, v); }
  static LR_LU_INLINE R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static LR_LU_INLINE R div(R a, R b) { return _mm512_div_pd(a, b); }
  static LR_LU_INLINE R sub(R a, R b) { return _mm512_sub_pd(a, b); }
  static LR_LU_INLINE R fmadd(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  // |x|, NaN -> -1
  static LR_LU_INLINE R key(R x) {
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), _mm512_abs_pd(x), _mm512_set1_pd(-1.0));
  }
  static LR_LU_INLINE M gt(R a, R b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  static LR_LU_INLINE R blend(R a, R b, M m) { return _mm512_mask_blend_pd(m, a, b); }
  static LR_LU_INLINE I iota() { return _mm512_set_pd(7, 6, 5, 4, 3, 2, 1, 0); }
  static LR_LU_INLINE I iadd(I a, I b) { return _mm512_add_pd(a, b); }
  static LR_LU_INLINE I iset1(int v) { return _mm512_set1_pd(v); }
  static LR_LU_INLINE I iblend(I a, I b, M m) { return _mm512_mask_blend_pd(m, a, b); }
  static LR_LU_INLINE void istore(int64_t* out, I v) {
    double t[W];
    _mm512_storeu_pd(t, v);
    for (int k = 0; k < W; ++k) out[k] = static_cast<int64_t>(t[k]);
  }
};

struct Vf {
  using T = float;
  using R = __m512;
  using I = __m512i;  // lane row indices, int32 (n <= kRowChunk)
  using M = __mmask16;
  static constexpr int W = 16;
  static LR_LU_INLINE R set1(T v) { return _mm512_set1_ps(v); }
  static LR_LU_INLINE R loadu(const T* p) { return _mm512_loadu_ps(p); }
  static LR_LU_INLINE void storeu(T* p, R v) { _mm512_storeu_ps(p, v); }
  static LR_LU_INLINE R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static LR_LU_INLINE R div(R a, R b) { return _mm512_div_ps(a, b); }
  static LR_LU_INLINE R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static LR_LU_INLINE R fmadd(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static LR_LU_INLINE R key(R x) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), _mm512_abs_ps(x), _mm512_set1_ps(-1.0f));
  }
  static LR_LU_INLINE M gt(R a, R b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static LR_LU_INLINE R blend(R a, R b, M m) { return _mm512_mask_blend_ps(m, a, b); }
  static LR_LU_INLINE I iota() { return _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0); }
  static LR_LU_INLINE I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static LR_LU_INLINE I iset1(int v) { return _mm512_set1_epi32(v); }
  static LR_LU_INLINE I iblend(I a, I b, M m) { return _mm512_mask_blend_epi32(m, a, b); }
  static LR_LU_INLINE void istore(int64_t* out, I v) {
    int32_t t[W];
    _mm512_storeu_si512(t, v);
    for (int k = 0; k < W; ++k) out[k] = t[k];
  }
};

#include "lu_leaf_body.h"

#undef LR_LU_INLINE

}  // namespace avx512
}  // namespace luk
}  // namespace la
}  // namespace lr
LR_TARGET_END
#endif

namespace lr {
namespace la {
namespace luk {

template <class T>
LeafKernels<T> pick() {
  LeafKernels<T> k{&scalar::search<T>, &scalar::step<T>, nullptr, &scalar::copyIn<T>, &scalar::copyOut<T>};
#if LR_X86
  const Isa isa = kernelIsa();
  if (isa == Isa::Avx2 || isa == Isa::Avx512) {
    if constexpr (sizeof(T) == 4)
      k = {&avx2::search<avx2::Vf>, &avx2::step<avx2::Vf>, &avx2::update<avx2::Vf>, &avx2::copyIn<float>,
           &avx2::copyOut<float>};
    else
      k = {&avx2::search<avx2::Vd>, &avx2::step<avx2::Vd>, &avx2::update<avx2::Vd>, &avx2::copyIn<double>,
           &avx2::copyOut<double>};
    // 512-bit search, step and small-k update (the same bits as the AVX2 ones). 4000 x 60 f64 on one Zen 5
    // core: the update was 46 % of the time at the AVX2 FMA peak, the step 23 %.
    if (isa == Isa::Avx512) {
      if constexpr (sizeof(T) == 4) {
        k.search = &avx512::search<avx512::Vf>;
        k.step = &avx512::step<avx512::Vf>;
        k.update = &avx512::update<avx512::Vf>;
      } else {
        k.search = &avx512::search<avx512::Vd>;
        k.step = &avx512::step<avx512::Vd>;
        k.update = &avx512::update<avx512::Vd>;
      }
    }
  }
#endif
  return k;
}

template <class T>
const LeafKernels<T>& leafKernels() {
  static const LeafKernels<T> k = pick<T>();
  return k;
}

}  // namespace luk

namespace {

using luk::Cand;
using luk::kDiv;
using luk::kKeep;
using luk::kMul;
using luk::LeafKernels;
using luk::leafKernels;

// Columns of an unblocked leaf.
constexpr int64_t kLeaf = 8;
// Rows per task of a parallel pass.
constexpr int64_t kRowChunk = 2048;
// Packed updates (lr::gemm, k > kSmallK) below this many flops run on the caller (a hand-off per update
// costs more than it gains there).
constexpr double kParallelGemmFlops = 3.0e7;
// Largest inner dimension of the unpacked small update (a row tile's k columns of A stay in L1), its
// rows per task (a multiple of its row tile), and the flops from which its tasks go to the pool.
constexpr int64_t kSmallK = 64;
constexpr int64_t kUpdateRows = 1024;
// (1e7: a task of the rows the caller's leaf has just written is slower on the other core, which must fetch
// them first; f64 on 2 threads of a Zen 5 guest, C++ harness, against 1e5: 4000 x 120 1.30-1.42 vs 1.50-1.53 ms,
// 2000 x 500 8.6-8.8 vs 9.4 ms, 20000 x 200 14.5-15.5 vs 15.5-16.2 ms. One thread is still as fast or faster
// below ~10^4 rows.)
constexpr double kParallelSmallFlops = 1.0e7;
// Rows per task of the transposing copies.
constexpr int64_t kCopyRows = 1024;
// The copies in and out run on all threads from this many elements. Below, a copy split between two cores
// leaves half of W in the other core's cache for the caller's one-thread leaf passes (f64 on 2 threads of a
// Zen 5 guest, C++ harness: 4000 x 60 0.34 vs 0.48 ms best, now as fast as one thread); above, the split
// copies win (20000 x 200 14.2-14.4 vs 16.4-17.6 ms, 50000 x 60 7.9-8.4 vs 9.8-10.3 ms).
constexpr double kParallelCopyElems = 1.0e6;
// Columns of a TRSM leaf (plain forward substitution).
constexpr int64_t kTrsmLeaf = 32;

template <class T>
class LuSolver {
 public:
  LuSolver(const T* A, int64_t m, int64_t n, T* PL, T* U, int threads)
      : A_(A),
        m_(m),
        n_(n),
        PL_(PL),
        U_(U),
        threads_(threads),
        ipiv_(static_cast<size_t>(n), 0),
        W_(new T[static_cast<size_t>(m * n)]) {}

  void run() {
    // W = A, column-major.
    T* W = W_.get();
    const LeafKernels<T>& K = leafKernels<T>();
    parallelRanges(copyThreads(), m_, kCopyRows,
                   [&](int64_t b, int64_t e, int) { K.copyIn(e - b, n_, A_ + b * n_, n_, W + b, m_); });
    factor(0, n_);
    finish();
  }

 private:
  const T* A_;
  int64_t m_, n_;
  T* PL_;
  T* U_;
  int threads_;
  std::vector<int64_t> ipiv_;  // step j swapped rows j and ipiv_[j] (>= j)
  std::unique_ptr<T[]> W_;     // column-major m x n (ld m), rows swapped as in getrf

  T* at(int64_t i, int64_t c) { return W_.get() + c * m_ + i; }
  int passThreads(double work) const { return work < 2.0e5 ? 1 : threads_; }
  int copyThreads() const { return static_cast<double>(m_) * n_ < kParallelCopyElems ? 1 : threads_; }
  int gemmThreads(int64_t m, int64_t n, int64_t k) const {
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) < kParallelGemmFlops
               ? 1
               : threads_;
  }
  // Column-major C (r x c) -= A (r x k) B (k x c), all with ld m: as row-major, C^T -= B^T A^T.
  // Small k (every update of a narrow panel) runs in the leaf kernels' unpacked update where there is one,
  // on fixed row chunks (a multiple of its row tile, so the split does not depend on the thread count).
  void update(int64_t r, int64_t c, int64_t k, const T* A, const T* B, T* C) {
    const auto small = leafKernels<T>().update;
    if (small == nullptr || k > kSmallK) {
      gemm<T>(false, false, c, r, k, T(-1), B, m_, A, m_, T(1), C, m_, gemmThreads(r, c, k));
      return;
    }
    const int64_t nc = (r + kUpdateRows - 1) / kUpdateRows;
    const double flops = 2.0 * static_cast<double>(r) * static_cast<double>(c) * static_cast<double>(k);
    parallelFor(flops < kParallelSmallFlops ? 1 : threads_, nc, [&](int64_t t, int) {
      const int64_t a = t * kUpdateRows;
      small(std::min(kUpdateRows, r - a), c, k, A + a, B, C + a, m_);
    });
  }

  // Row swaps of steps [s0, s1) applied to columns [c0, c1).
  void laswp(int64_t s0, int64_t s1, int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      T* col = at(0, c);
      for (int64_t s = s0; s < s1; ++s)
        if (ipiv_[s] != s) std::swap(col[s], col[ipiv_[s]]);
    }
  }

  // Unblocked LU of columns [c0, c1), rows [c0, m): per step, the pivot swap across the leaf's columns,
  // then one left-looking pass down the columns (vectorized, see LeafKernels) that scales the multipliers,
  // brings the next column up to date and finds its pivot.
  void leaf(int64_t c0, int64_t c1) {
    const int64_t M = m_ - c0, w = c1 - c0;
    T* B = at(c0, c0);  // the leaf panel, rows relative to c0
    const LeafKernels<T>& K = leafKernels<T>();
    Cand cand;
    for (int64_t a = 0; a < M; a += kRowChunk) cand.merge(K.search(B + a, std::min(kRowChunk, M - a), a));
    for (int64_t jj = 0; jj < w; ++jj) {
      T* col = B + jj * m_;
      const int64_t p = cand.row;
      ipiv_[c0 + jj] = c0 + p;
      if (p != jj)
        for (int64_t c = 0; c < w; ++c) std::swap(B[c * m_ + jj], B[c * m_ + p]);
      const T d = col[jj];
      const bool scale = d != T(0);
      // 1 / d overflows for a subnormal pivot: divide then (getf2's sfmin test).
      const bool recip = std::fabs(d) >= std::numeric_limits<T>::min();
      const int mode = !scale ? kKeep : recip ? kMul : kDiv;
      const T f = !scale ? T(1) : recip ? T(1) / d : d;
      const int64_t r0 = jj + 1;
      if (r0 >= M) break;  // the pivot is the last row: nothing below it
      const bool next = jj + 1 < w;
      T u[kLeaf];
      if (next) {
        // Column jj + 1 above the diagonal (rows 1 .. jj: U's part, forward substitution in step order),
        // then u = U[0 .. jj, jj + 1] for the pass.
        T* cn = B + (jj + 1) * m_;
        for (int64_t r = 1; r <= jj; ++r) {
          T v = cn[r];
          for (int64_t k = 0; k < r; ++k) v -= B[k * m_ + r] * cn[k];
          cn[r] = v;
        }
        for (int64_t k = 0; k <= jj; ++k) u[k] = cn[k];
      }
      const int64_t nc = (M - r0 + kRowChunk - 1) / kRowChunk;
      std::vector<Cand> part(static_cast<size_t>(nc));
      parallelFor(passThreads(static_cast<double>(M - r0) * (jj + 3)), nc, [&](int64_t t, int) {
        const int64_t a = r0 + t * kRowChunk, b = std::min(M, a + kRowChunk);
        part[t] = K.step(B + a, m_, b - a, static_cast<int>(jj + 1), next, u, f, mode, a);
      });
      cand = Cand();
      for (const Cand& q : part) cand.merge(q);
    }
  }

  // X (rows [r0, r0 + nr), columns [c0, c0 + nc)) = L^-1 X, L the unit lower triangle of W[r0.., r0..].
  void trsm(int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
    if (nr <= kTrsmLeaf) {
      for (int64_t c = c0; c < c0 + nc; ++c) {
        T* x = at(r0, c);
        for (int64_t q = 0; q + 1 < nr; ++q) {
          const T xq = x[q];
          const T* l = at(r0, r0 + q);
          for (int64_t k = q + 1; k < nr; ++k) x[k] -= l[k] * xq;
        }
      }
      return;
    }
    const int64_t h = nr / 2;
    trsm(r0, h, c0, nc);
    update(nr - h, nc, h, at(r0 + h, r0), at(r0, c0), at(r0 + h, c0));
    trsm(r0 + h, nr - h, c0, nc);
  }

  // Recursive LU of columns [j0, j0 + nc), rows [j0, m).
  void factor(int64_t j0, int64_t nc) {
    if (nc <= kLeaf) {
      leaf(j0, j0 + nc);
      return;
    }
    const int64_t n1 = nc / 2, n2 = nc - n1, j1 = j0 + n1;
    factor(j0, n1);
    laswp(j0, j1, j1, j0 + nc);
    trsm(j0, n1, j1, n2);
    update(m_ - j1, n2, n1, at(j1, j0), at(j0, j1), at(j1, j1));
    factor(j1, n2);
    laswp(j1, j0 + nc, j0, j1);
  }

  // U from the first n rows of W; PL row perm[i] = L's row i (unit diagonal, zeros right), where row i of
  // W is row perm[i] of A (the swaps applied in order to the identity).
  void finish() {
    const T* W = W_.get();
    for (int64_t s = 0; s < n_; ++s)
      for (int64_t c = 0; c < n_; ++c) U_[s * n_ + c] = c >= s ? W[c * m_ + s] : T(0);
    std::vector<int64_t> perm(static_cast<size_t>(m_));
    for (int64_t i = 0; i < m_; ++i) perm[i] = i;
    for (int64_t s = 0; s < n_; ++s) std::swap(perm[s], perm[ipiv_[s]]);
    // L's first n rows (unit diagonal, zeros right), then the rest as they are.
    for (int64_t i = 0; i < n_; ++i) {
      T* pi = PL_ + perm[i] * n_;
      for (int64_t c = 0; c < n_; ++c) pi[c] = c < i ? W[c * m_ + i] : c == i ? T(1) : T(0);
    }
    const LeafKernels<T>& K = leafKernels<T>();
    parallelRanges(copyThreads(), m_ - n_, kCopyRows, [&](int64_t b, int64_t e, int) {
      K.copyOut(e - b, n_, W + n_ + b, m_, PL_, n_, perm.data() + n_ + b);
    });
  }
};

}  // namespace

template <class T>
void getrfPermuteL(idx m, idx n, const T* A, T* PL, T* U, int threads) {
  if (n == 0) return;  // nothing to factor (m x 0)
  LuSolver<T>(A, m, n, PL, U, threads).run();
}

template void getrfPermuteL<float>(idx, idx, const float*, float*, float*, int);
template void getrfPermuteL<double>(idx, idx, const double*, double*, double*, int);

}  // namespace la
}  // namespace lr
