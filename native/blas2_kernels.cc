// Vector kernels for the level-1/2 parts of the factorizations (dot, axpy, column-major gemv in both
// orientations, the fused symv column sweep of the tridiagonal reduction). One generic body is
// compiled per ISA inside its own namespace and `#pragma GCC target` region (the same scheme as the
// GEMM kernels); kernels() picks a set once, after __builtin_cpu_supports() (LOWRANK_ISA=avx2|scalar
// forces a lower path). Sums use several independent accumulators, combined in a fixed order.
// Thread-count independence: callers split rows or columns of gemv/axpy across threads at boundaries
// that depend on the thread count, so every output entry is computed the same way wherever it falls
// in a call (scalar tails use V::fma1, one lane of V::fma; leftover gemvT columns use the per-column
// sum of the groups of 4). A dot's result depends on its length only.
#include "isa.h"
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "blas2.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define LR_B2_INLINE __forceinline
#else
#define LR_B2_INLINE inline __attribute__((always_inline))
#endif

// Generic bodies over a vector-traits type V (T, R, W, zero, loadu, storeu, set1, fma, add, hsum, and
// with V::kMask: loadp / storep for partial vectors).
#define LR_B2_BODY                                                                                                    \
  template <class V>                                                                                                  \
  typename V::T dotK(int64_t n, const typename V::T* x, const typename V::T* y) {                                     \
    using T = typename V::T;                                                                                          \
    using R = typename V::R;                                                                                          \
    constexpr int W = V::W;                                                                                           \
    R a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();                                                 \
    int64_t i = 0;                                                                                                    \
    for (; i + 4 * W <= n; i += 4 * W) {                                                                              \
      a0 = V::fma(V::loadu(x + i), V::loadu(y + i), a0);                                                              \
      a1 = V::fma(V::loadu(x + i + W), V::loadu(y + i + W), a1);                                                      \
      a2 = V::fma(V::loadu(x + i + 2 * W), V::loadu(y + i + 2 * W), a2);                                              \
      a3 = V::fma(V::loadu(x + i + 3 * W), V::loadu(y + i + 3 * W), a3);                                              \
    }                                                                                                                 \
    for (; i + W <= n; i += W) a0 = V::fma(V::loadu(x + i), V::loadu(y + i), a0);                                     \
    T tail = 0;                                                                                                       \
    if constexpr (V::kMask) {                                                                                         \
      if (i < n) a1 = V::fma(V::loadp(x + i, static_cast<int>(n - i)), V::loadp(y + i, static_cast<int>(n - i)), a1); \
    } else {                                                                                                          \
      for (; i < n; ++i) tail += x[i] * y[i];                                                                         \
    }                                                                                                                 \
    return V::hsum(V::add(V::add(a0, a1), V::add(a2, a3))) + tail;                                                    \
  }                                                                                                                   \
                                                                                                                      \
  template <class V>                                                                                                  \
  void axpyK(int64_t n, typename V::T a, const typename V::T* x, typename V::T* y) {                                  \
    using R = typename V::R;                                                                                          \
    constexpr int W = V::W;                                                                                           \
    R va = V::set1(a);                                                                                                \
    int64_t i = 0;                                                                                                    \
    for (; i + W <= n; i += W) V::storeu(y + i, V::fma(va, V::loadu(x + i), V::loadu(y + i)));                        \
    if constexpr (V::kMask) {                                                                                         \
      if (i < n) {                                                                                                    \
        int r = static_cast<int>(n - i);                                                                              \
        V::storep(y + i, V::fma(va, V::loadp(x + i, r), V::loadp(y + i, r)), r);                                      \
      }                                                                                                               \
    } else {                                                                                                          \
      for (; i < n; ++i) y[i] = V::fma1(a, x[i], y[i]);                                                               \
    }                                                                                                                 \
  }                                                                                                                   \
                                                                                                                      \
  /* y[0:r] += sum_j A(:, j) x[j], A column-major. */                                                                 \
  template <class V>                                                                                                  \
  void gemvNK(int64_t r, int64_t c, const typename V::T* A, int64_t lda, const typename V::T* x, typename V::T* y) {  \
    using T = typename V::T;                                                                                          \
    using R = typename V::R;                                                                                          \
    constexpr int W = V::W;                                                                                           \
    int64_t j = 0;                                                                                                    \
    for (; j + 4 <= c; j += 4) {                                                                                      \
      const T* a0 = A + j * lda;                                                                                      \
      const T* a1 = a0 + lda;                                                                                         \
      const T* a2 = a1 + lda;                                                                                         \
      const T* a3 = a2 + lda;                                                                                         \
      R b0 = V::set1(x[j]), b1 = V::set1(x[j + 1]), b2 = V::set1(x[j + 2]), b3 = V::set1(x[j + 3]);                   \
      int64_t i = 0;                                                                                                  \
      for (; i + W <= r; i += W) {                                                                                    \
        R acc = V::loadu(y + i);                                                                                      \
        acc = V::fma(V::loadu(a0 + i), b0, acc);                                                                      \
        acc = V::fma(V::loadu(a1 + i), b1, acc);                                                                      \
        acc = V::fma(V::loadu(a2 + i), b2, acc);                                                                      \
        acc = V::fma(V::loadu(a3 + i), b3, acc);                                                                      \
        V::storeu(y + i, acc);                                                                                        \
      }                                                                                                               \
      for (; i < r; ++i) {                                                                                            \
        T acc = y[i];                                                                                                 \
        acc = V::fma1(a0[i], x[j], acc);                                                                              \
        acc = V::fma1(a1[i], x[j + 1], acc);                                                                          \
        acc = V::fma1(a2[i], x[j + 2], acc);                                                                          \
        acc = V::fma1(a3[i], x[j + 3], acc);                                                                          \
        y[i] = acc;                                                                                                   \
      }                                                                                                               \
    }                                                                                                                 \
    for (; j < c; ++j) axpyK<V>(r, x[j], A + j * lda, y);                                                             \
  }                                                                                                                   \
                                                                                                                      \
  /* y[j] = sum_i A(i, j) x[i] for j in [0, c). */                                                                    \
  template <class V>                                                                                                  \
  void gemvTK(int64_t r, int64_t c, const typename V::T* A, int64_t lda, const typename V::T* x, typename V::T* y) {  \
    using T = typename V::T;                                                                                          \
    using R = typename V::R;                                                                                          \
    constexpr int W = V::W;                                                                                           \
    int64_t j = 0;                                                                                                    \
    for (; j + 4 <= c; j += 4) {                                                                                      \
      const T* a0 = A + j * lda;                                                                                      \
      const T* a1 = a0 + lda;                                                                                         \
      const T* a2 = a1 + lda;                                                                                         \
      const T* a3 = a2 + lda;                                                                                         \
      R s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();                                               \
      int64_t i = 0;                                                                                                  \
      for (; i + W <= r; i += W) {                                                                                    \
        R xv = V::loadu(x + i);                                                                                       \
        s0 = V::fma(V::loadu(a0 + i), xv, s0);                                                                        \
        s1 = V::fma(V::loadu(a1 + i), xv, s1);                                                                        \
        s2 = V::fma(V::loadu(a2 + i), xv, s2);                                                                        \
        s3 = V::fma(V::loadu(a3 + i), xv, s3);                                                                        \
      }                                                                                                               \
      T t0 = 0, t1 = 0, t2 = 0, t3 = 0;                                                                               \
      if constexpr (V::kMask) {                                                                                       \
        if (i < r) {                                                                                                  \
          int q = static_cast<int>(r - i);                                                                            \
          R xv = V::loadp(x + i, q);                                                                                  \
          s0 = V::fma(V::loadp(a0 + i, q), xv, s0);                                                                   \
          s1 = V::fma(V::loadp(a1 + i, q), xv, s1);                                                                   \
          s2 = V::fma(V::loadp(a2 + i, q), xv, s2);                                                                   \
          s3 = V::fma(V::loadp(a3 + i, q), xv, s3);                                                                   \
        }                                                                                                             \
      } else {                                                                                                        \
        for (; i < r; ++i) {                                                                                          \
          t0 += a0[i] * x[i];                                                                                         \
          t1 += a1[i] * x[i];                                                                                         \
          t2 += a2[i] * x[i];                                                                                         \
          t3 += a3[i] * x[i];                                                                                         \
        }                                                                                                             \
      }                                                                                                               \
      y[j] = V::hsum(s0) + t0;                                                                                        \
      y[j + 1] = V::hsum(s1) + t1;                                                                                    \
      y[j + 2] = V::hsum(s2) + t2;                                                                                    \
      y[j + 3] = V::hsum(s3) + t3;                                                                                    \
    }                                                                                                                 \
    /* Remaining columns: the same single-accumulator sum as a column of a group of 4 (a column's value \
       must not depend on its position in a call: callers split columns across threads freely). */             \
    for (; j < c; ++j) {                                                                                              \
      const T* a0 = A + j * lda;                                                                                      \
      R s0 = V::zero();                                                                                               \
      int64_t i = 0;                                                                                                  \
      for (; i + W <= r; i += W) s0 = V::fma(V::loadu(a0 + i), V::loadu(x + i), s0);                                  \
      T t0 = 0;                                                                                                       \
      if constexpr (V::kMask) {                                                                                       \
        if (i < r) {                                                                                                  \
          int q = static_cast<int>(r - i);                                                                            \
          s0 = V::fma(V::loadp(a0 + i, q), V::loadp(x + i, q), s0);                                                   \
        }                                                                                                             \
      } else {                                                                                                        \
        for (; i < r; ++i) t0 += a0[i] * x[i];                                                                        \
      }                                                                                                               \
      y[j] = V::hsum(s0) + t0;                                                                                        \
    }                                                                                                                 \
  }                                                                                                                   \
                                                                                                                      \
  /* Columns [j0, j1) of y = A x, A symmetric with its lower triangle stored column-major (m x m):     \
     acc(j+1:m) += A(j+1:m, j) x_j and acc(j) += A(j, j) x_j + A(j+1:m, j) . x(j+1:m). */              \
  template <class V>                                                                                                  \
  void symvColsK(int64_t m, int64_t j0, int64_t j1, const typename V::T* A, int64_t lda, const typename V::T* x,      \
                 typename V::T* acc) {                                                                                \
    using T = typename V::T;                                                                                          \
    using R = typename V::R;                                                                                          \
    constexpr int W = V::W;                                                                                           \
    int64_t j = j0;                                                                                                   \
    for (; j + 4 <= j1; j += 4) {                                                                                     \
      const T* a[4] = {A + j * lda, A + (j + 1) * lda, A + (j + 2) * lda, A + (j + 3) * lda};                         \
      for (int c = 0; c < 4; ++c) {                                                                                   \
        acc[j + c] += a[c][j + c] * x[j + c];                                                                         \
        for (int rr = c + 1; rr < 4; ++rr) {                                                                          \
          acc[j + rr] += a[c][j + rr] * x[j + c];                                                                     \
          acc[j + c] += a[c][j + rr] * x[j + rr];                                                                     \
        }                                                                                                             \
      }                                                                                                               \
      R b0 = V::set1(x[j]), b1 = V::set1(x[j + 1]), b2 = V::set1(x[j + 2]), b3 = V::set1(x[j + 3]);                   \
      R s0 = V::zero(), s1 = V::zero(), s2 = V::zero(), s3 = V::zero();                                               \
      int64_t i = j + 4;                                                                                              \
      for (; i + W <= m; i += W) {                                                                                    \
        R xv = V::loadu(x + i);                                                                                       \
        R av = V::loadu(acc + i);                                                                                     \
        R c0 = V::loadu(a[0] + i), c1 = V::loadu(a[1] + i), c2 = V::loadu(a[2] + i), c3 = V::loadu(a[3] + i);         \
        av = V::fma(c0, b0, av);                                                                                      \
        av = V::fma(c1, b1, av);                                                                                      \
        av = V::fma(c2, b2, av);                                                                                      \
        av = V::fma(c3, b3, av);                                                                                      \
        s0 = V::fma(c0, xv, s0);                                                                                      \
        s1 = V::fma(c1, xv, s1);                                                                                      \
        s2 = V::fma(c2, xv, s2);                                                                                      \
        s3 = V::fma(c3, xv, s3);                                                                                      \
        V::storeu(acc + i, av);                                                                                       \
      }                                                                                                               \
      T t[4] = {0, 0, 0, 0};                                                                                          \
      if constexpr (V::kMask) {                                                                                       \
        if (i < m) {                                                                                                  \
          int q = static_cast<int>(m - i);                                                                            \
          R xv = V::loadp(x + i, q);                                                                                  \
          R av = V::loadp(acc + i, q);                                                                                \
          R c0 = V::loadp(a[0] + i, q), c1 = V::loadp(a[1] + i, q), c2 = V::loadp(a[2] + i, q),                       \
            c3 = V::loadp(a[3] + i, q);                                                                               \
          av = V::fma(c0, b0, av);                                                                                    \
          av = V::fma(c1, b1, av);                                                                                    \
          av = V::fma(c2, b2, av);                                                                                    \
          av = V::fma(c3, b3, av);                                                                                    \
          s0 = V::fma(c0, xv, s0);                                                                                    \
          s1 = V::fma(c1, xv, s1);                                                                                    \
          s2 = V::fma(c2, xv, s2);                                                                                    \
          s3 = V::fma(c3, xv, s3);                                                                                    \
          V::storep(acc + i, av, q);                                                                                  \
        }                                                                                                             \
      } else {                                                                                                        \
        for (; i < m; ++i) {                                                                                          \
          T xi = x[i];                                                                                                \
          T v = acc[i];                                                                                               \
          for (int c = 0; c < 4; ++c) {                                                                               \
            v += a[c][i] * x[j + c];                                                                                  \
            t[c] += a[c][i] * xi;                                                                                     \
          }                                                                                                           \
          acc[i] = v;                                                                                                 \
        }                                                                                                             \
      }                                                                                                               \
      acc[j] += V::hsum(s0) + t[0];                                                                                   \
      acc[j + 1] += V::hsum(s1) + t[1];                                                                               \
      acc[j + 2] += V::hsum(s2) + t[2];                                                                               \
      acc[j + 3] += V::hsum(s3) + t[3];                                                                               \
    }                                                                                                                 \
    for (; j < j1; ++j) {                                                                                             \
      const T* a = A + j * lda;                                                                                       \
      T xj = x[j];                                                                                                    \
      acc[j] += a[j] * xj + dotK<V>(m - j - 1, a + j + 1, x + j + 1);                                                 \
      axpyK<V>(m - j - 1, xj, a + j + 1, acc + j + 1);                                                                \
    }                                                                                                                 \
  }                                                                                                                   \
                                                                                                                      \
  /* s[0] = sum_j w_j / (b_j - tau), s[1] = sum_j w_j / (b_j - tau)^2 (secular equation terms). */                    \
  template <class V>                                                                                                  \
  void secularK(int64_t n, const typename V::T* b, const typename V::T* w, typename V::T tau, typename V::T* s) {     \
    using T = typename V::T;                                                                                          \
    using R = typename V::R;                                                                                          \
    constexpr int W = V::W;                                                                                           \
    R vt = V::set1(tau), one = V::set1(T(1));                                                                         \
    R s0 = V::zero(), s1 = V::zero(), q0 = V::zero(), q1 = V::zero();                                                 \
    int64_t i = 0;                                                                                                    \
    for (; i + 2 * W <= n; i += 2 * W) {                                                                              \
      R i0 = V::div(one, V::sub(V::loadu(b + i), vt));                                                                \
      R i1 = V::div(one, V::sub(V::loadu(b + i + W), vt));                                                            \
      R t0 = V::mul(V::loadu(w + i), i0), t1 = V::mul(V::loadu(w + i + W), i1);                                       \
      s0 = V::add(s0, t0);                                                                                            \
      s1 = V::add(s1, t1);                                                                                            \
      q0 = V::fma(t0, i0, q0);                                                                                        \
      q1 = V::fma(t1, i1, q1);                                                                                        \
    }                                                                                                                 \
    T a = V::hsum(V::add(s0, s1)), c = V::hsum(V::add(q0, q1));                                                       \
    for (; i < n; ++i) {                                                                                              \
      T inv = T(1) / (b[i] - tau);                                                                                    \
      T t = w[i] * inv;                                                                                               \
      a += t;                                                                                                         \
      c += t * inv;                                                                                                   \
    }                                                                                                                 \
    s[0] = a;                                                                                                         \
    s[1] = c;                                                                                                         \
  }                                                                                                                   \
                                                                                                                      \
  template <class V>                                                                                                  \
  void fill(lr::la::B2Kernels<typename V::T>& k) {                                                                    \
    k.secular = &secularK<V>;                                                                                         \
    k.dot = &dotK<V>;                                                                                                 \
    k.axpy = &axpyK<V>;                                                                                               \
    k.gemvN = &gemvNK<V>;                                                                                             \
    k.gemvT = &gemvTK<V>;                                                                                             \
    k.symvCols = &symvColsK<V>;                                                                                       \
  }

// ---- portable --------------------------------------------------------------------------------------------

namespace lr {
namespace b2 {
namespace scalar {
template <class TT>
struct Vs {
  using T = TT;
  struct R {
    T v[4];
  };
  static constexpr int W = 4;
  static constexpr bool kMask = false;
  static R zero() { return R{{0, 0, 0, 0}}; }
  static R loadu(const T* p) { return R{{p[0], p[1], p[2], p[3]}}; }
  static void storeu(T* p, R r) {
    for (int i = 0; i < 4; ++i) p[i] = r.v[i];
  }
  static R set1(T x) { return R{{x, x, x, x}}; }
  static R fma(R a, R b, R c) {
    for (int i = 0; i < 4; ++i) c.v[i] += a.v[i] * b.v[i];
    return c;
  }
  static T fma1(T a, T b, T c) { return c + a * b; }  // one lane of fma
  static R add(R a, R b) {
    for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
    return a;
  }
  static R sub(R a, R b) {
    for (int i = 0; i < 4; ++i) a.v[i] -= b.v[i];
    return a;
  }
  static R mul(R a, R b) {
    for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
    return a;
  }
  static R div(R a, R b) {
    for (int i = 0; i < 4; ++i) a.v[i] /= b.v[i];
    return a;
  }
  static T hsum(R a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
  static R loadp(const T*, int) { return zero(); }
  static void storep(T*, R, int) {}
};
LR_B2_BODY
}  // namespace scalar
}  // namespace b2
}  // namespace lr

// ---- x86 ------------------------------------------------------------------------------------------------

#if LR_X86
#include <immintrin.h>

LR_TARGET_AVX2_BEGIN
namespace lr {
namespace b2 {
namespace avx2 {
struct Vf {
  using T = float;
  using R = __m256;
  static constexpr int W = 8;
  static constexpr bool kMask = false;
  static LR_B2_INLINE R zero() { return _mm256_setzero_ps(); }
  static LR_B2_INLINE R loadu(const T* p) { return _mm256_loadu_ps(p); }
  static LR_B2_INLINE void storeu(T* p, R v) { _mm256_storeu_ps(p, v); }
  static LR_B2_INLINE R set1(T x) { return _mm256_set1_ps(x); }
  static LR_B2_INLINE R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static LR_B2_INLINE T fma1(T a, T b, T c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  }
  static LR_B2_INLINE R add(R a, R b) { return _mm256_add_ps(a, b); }
  static LR_B2_INLINE R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static LR_B2_INLINE R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static LR_B2_INLINE R div(R a, R b) { return _mm256_div_ps(a, b); }
  static LR_B2_INLINE T hsum(R v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static LR_B2_INLINE R loadp(const T*, int) { return zero(); }
  static LR_B2_INLINE void storep(T*, R, int) {}
};
struct Vd {
  using T = double;
  using R = __m256d;
  static constexpr int W = 4;
  static constexpr bool kMask = false;
  static LR_B2_INLINE R zero() { return _mm256_setzero_pd(); }
  static LR_B2_INLINE R loadu(const T* p) { return _mm256_loadu_pd(p); }
  static LR_B2_INLINE void storeu(T* p, R v) { _mm256_storeu_pd(p, v); }
  static LR_B2_INLINE R set1(T x) { return _mm256_set1_pd(x); }
  static LR_B2_INLINE R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static LR_B2_INLINE T fma1(T a, T b, T c) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)));
  }
  static LR_B2_INLINE R add(R a, R b) { return _mm256_add_pd(a, b); }
  static LR_B2_INLINE R sub(R a, R b) { return _mm256_sub_pd(a, b); }
  static LR_B2_INLINE R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static LR_B2_INLINE R div(R a, R b) { return _mm256_div_pd(a, b); }
  static LR_B2_INLINE T hsum(R v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static LR_B2_INLINE R loadp(const T*, int) { return zero(); }
  static LR_B2_INLINE void storep(T*, R, int) {}
};
LR_B2_BODY
}  // namespace avx2
}  // namespace b2
}  // namespace lr
LR_TARGET_END
LR_TARGET_AVX512_BEGIN
namespace lr {
namespace b2 {
namespace avx512 {
struct Vf {
  using T = float;
  using R = __m512;
  static constexpr int W = 16;
  static constexpr bool kMask = true;
  static LR_B2_INLINE R zero() { return _mm512_setzero_ps(); }
  static LR_B2_INLINE R loadu(const T* p) { return _mm512_loadu_ps(p); }
  static LR_B2_INLINE void storeu(T* p, R v) { _mm512_storeu_ps(p, v); }
  static LR_B2_INLINE R set1(T x) { return _mm512_set1_ps(x); }
  static LR_B2_INLINE R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static LR_B2_INLINE T fma1(T a, T b, T c) {
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
  }
  static LR_B2_INLINE R add(R a, R b) { return _mm512_add_ps(a, b); }
  static LR_B2_INLINE R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static LR_B2_INLINE R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static LR_B2_INLINE R div(R a, R b) { return _mm512_div_ps(a, b); }
  static LR_B2_INLINE T hsum(R v) {
    __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0), _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static LR_B2_INLINE __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static LR_B2_INLINE R loadp(const T* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static LR_B2_INLINE void storep(T* p, R v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
};
struct Vd {
  using T = double;
  using R = __m512d;
  static constexpr int W = 8;
  static constexpr bool kMask = true;
  static LR_B2_INLINE R zero() { return _mm512_setzero_pd(); }
  static LR_B2_INLINE R loadu(const T* p) { return _mm512_loadu_pd(p); }
  static LR_B2_INLINE void storeu(T* p, R v) { _mm512_storeu_pd(p, v); }
  static LR_B2_INLINE R set1(T x) { return _mm512_set1_pd(x); }
  static LR_B2_INLINE R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static LR_B2_INLINE T fma1(T a, T b, T c) {
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b), _mm_set_sd(c)));
  }
  static LR_B2_INLINE R add(R a, R b) { return _mm512_add_pd(a, b); }
  static LR_B2_INLINE R sub(R a, R b) { return _mm512_sub_pd(a, b); }
  static LR_B2_INLINE R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static LR_B2_INLINE R div(R a, R b) { return _mm512_div_pd(a, b); }
  static LR_B2_INLINE T hsum(R v) {
    __m256d h = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 0), _mm512_maskz_extractf64x4_pd(0xF, v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static LR_B2_INLINE __mmask8 mask(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static LR_B2_INLINE R loadp(const T* p, int n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  static LR_B2_INLINE void storep(T* p, R v, int n) { _mm512_mask_storeu_pd(p, mask(n), v); }
};
LR_B2_BODY
}  // namespace avx512
}  // namespace b2
}  // namespace lr
LR_TARGET_END
#endif

namespace lr {
namespace la {
namespace {

template <class T>
B2Kernels<T> pick() {
  const Isa isa = kernelIsa();
  B2Kernels<T> k;
  b2::scalar::fill<b2::scalar::Vs<T>>(k);
#if LR_X86
  if constexpr (sizeof(T) == 4) {
    if (isa == Isa::Avx512)
      b2::avx512::fill<b2::avx512::Vf>(k);
    else if (isa == Isa::Avx2)
      b2::avx2::fill<b2::avx2::Vf>(k);
  } else {
    if (isa == Isa::Avx512)
      b2::avx512::fill<b2::avx512::Vd>(k);
    else if (isa == Isa::Avx2)
      b2::avx2::fill<b2::avx2::Vd>(k);
  }
#endif
  return k;
}

}  // namespace

template <>
const B2Kernels<float>& b2k<float>() {
  static const B2Kernels<float> k = pick<float>();
  return k;
}
template <>
const B2Kernels<double>& b2k<double>() {
  static const B2Kernels<double> k = pick<double>();
  return k;
}

}  // namespace la
}  // namespace lr
