// Level-2 kernels for the reductions (tridiagonal, bidiagonal): column-major gemv and symv, split
// across the pool threads when large. Each output entry is accumulated by one thread in a fixed order
// that depends neither on timing nor on the thread count (symv's partial vectors come from a fixed
// split, see kSymvParts; the kernels compute an entry the same way wherever a split puts it).
// Splitting only pays off for a few hundred microseconds of work: a fork/join costs ~1 us on idle
// cores but a scheduler quantum when the cores are contended, and the reductions issue thousands of
// these calls, so the thresholds below are deliberately high.
#pragma once

#include "lapack.h"

namespace lr {
namespace la {

// Smallest level-2 operation (matrix entries touched) that is split across threads.
constexpr idx kB2ParallelMin = idx(1) << 18;

// Kernel set chosen at load time (blas2_kernels.cc): AVX-512, AVX2+FMA or portable.
template <class T>
struct B2Kernels {
  T (*dot)(int64_t n, const T* x, const T* y) = nullptr;
  void (*axpy)(int64_t n, T a, const T* x, T* y) = nullptr;
  // y[0:r] += A x (A column-major r x c)
  void (*gemvN)(int64_t r, int64_t c, const T* A, int64_t lda, const T* x, T* y) = nullptr;
  // y[0:c] = A^T x
  void (*gemvT)(int64_t r, int64_t c, const T* A, int64_t lda, const T* x, T* y) = nullptr;
  // columns [j0, j1) of the lower-stored symmetric product, accumulated into acc (see symvLower)
  void (*symvCols)(int64_t m, int64_t j0, int64_t j1, const T* A, int64_t lda, const T* x, T* acc) = nullptr;
  // s[0] = sum w_j / (b_j - tau), s[1] = sum w_j / (b_j - tau)^2
  void (*secular)(int64_t n, const T* b, const T* w, T tau, T* s) = nullptr;
};
template <class T>
const B2Kernels<T>& b2k();
template <>
const B2Kernels<float>& b2k<float>();
template <>
const B2Kernels<double>& b2k<double>();

template <class T>
inline T kdot(idx n, const T* x, const T* y) {
  return n > 0 ? b2k<T>().dot(n, x, y) : T(0);
}
template <class T>
inline void kaxpy(idx n, T a, const T* x, T* y) {
  if (n > 0) b2k<T>().axpy(n, a, x, y);
}

// y = beta y + alpha A x, A column-major r x c. (beta == 0 overwrites y.)
template <class T>
inline void gemvN(idx r, idx c, T alpha, const T* A, idx lda, const T* x, T beta, T* y, int threads) {
  if (r <= 0) return;
  const B2Kernels<T>& k = b2k<T>();
  std::vector<T> xs;
  const T* xp = x;
  if (alpha != T(1) && c > 0) {
    xs.resize(static_cast<size_t>(c));
    for (idx j = 0; j < c; ++j) xs[j] = alpha * x[j];
    xp = xs.data();
  }
  auto body = [&](idx i0, idx i1, int) {
    if (beta == T(0))
      std::fill(y + i0, y + i1, T(0));
    else if (beta != T(1))
      for (idx i = i0; i < i1; ++i) y[i] *= beta;
    if (c > 0) k.gemvN(i1 - i0, c, A + i0, lda, xp, y + i0);
  };
  if (threads > 1 && r * c >= kB2ParallelMin && r >= 256) {
    idx blocks = (r + 63) / 64;
    parallelRanges(threads, blocks, 2, [&](idx b0, idx b1, int t) { body(b0 * 64, std::min(r, b1 * 64), t); });
  } else {
    body(0, r, 0);
  }
}

// y = beta y + alpha A^T x, A column-major r x c (y has c entries).
template <class T>
inline void gemvT(idx r, idx c, T alpha, const T* A, idx lda, const T* x, T beta, T* y, int threads) {
  if (c <= 0) return;
  const B2Kernels<T>& k = b2k<T>();
  auto body = [&](idx j0, idx j1, int) {
    if (r <= 0) {
      for (idx j = j0; j < j1; ++j) y[j] = beta == T(0) ? T(0) : beta * y[j];
      return;
    }
    if (beta == T(0) && alpha == T(1)) {
      k.gemvT(r, j1 - j0, A + j0 * lda, lda, x, y + j0);
      return;
    }
    T tmp[64];
    for (idx b = j0; b < j1; b += 64) {
      idx bw = std::min<idx>(64, j1 - b);
      k.gemvT(r, bw, A + b * lda, lda, x, tmp);
      for (idx j = 0; j < bw; ++j) y[b + j] = (beta == T(0) ? T(0) : beta * y[b + j]) + alpha * tmp[j];
    }
  };
  if (threads > 1 && r * c >= kB2ParallelMin && c >= 8)
    parallelRanges(threads, c, 4, body);
  else
    body(0, c, 0);
}

// Column parts of a split symvLower: a fixed count, never the thread count (the partial vectors are
// summed, so the split decides the rounding). Costs (parts - 1) m extra adds against m^2 / 2 matrix
// entries streamed.
constexpr int kSymvParts = 8;

// y = A x for the symmetric m x m matrix whose lower triangle is stored column-major in A.
// ws: scratch of kSymvParts * m entries. Bit-identical for any thread count: from m^2 >=
// 2 kB2ParallelMin the columns are always cut into kSymvParts parts at the same places (even on one
// thread), each part accumulated into its own vector, and the parts summed in part order.
template <class T>
inline void symvLower(idx m, const T* A, idx lda, const T* x, T* y, int threads, T* ws) {
  const B2Kernels<T>& k = b2k<T>();
  auto cols = [&](idx j0, idx j1, T* acc) { k.symvCols(m, j0, j1, A, lda, x, acc); };
  if (m * m < 2 * kB2ParallelMin) {
    std::fill(y, y + m, T(0));
    cols(0, m, y);
    return;
  }
  constexpr int p = kSymvParts;
  // Split columns so every part holds about the same share of the triangle; cuts are multiples of 4
  // (the kernel's column groups).
  idx cut[p + 1];
  cut[0] = 0;
  cut[p] = m;
  double total = 0.5 * static_cast<double>(m) * static_cast<double>(m + 1);
  for (int q = 1; q < p; ++q) {
    double target = total * q / p;
    // columns [0, c) hold c m - c (c - 1) / 2 entries
    double mm = static_cast<double>(m) + 0.5;
    double c = mm - std::sqrt(std::max(0.0, mm * mm - 2.0 * target));
    cut[q] = std::min<idx>(m, std::max<idx>(cut[q - 1], static_cast<idx>(c) / 4 * 4));
  }
  // Part t only touches rows >= cut[t]; its partial vector lives in ws + t * m.
  parallelFor(threads, p, [&](int64_t t, int) {
    T* acc = ws + t * m;
    std::fill(acc + cut[t], acc + m, T(0));
    cols(cut[t], cut[t + 1], acc);
  });
  std::memcpy(y, ws, sizeof(T) * static_cast<size_t>(m));
  for (int t = 1; t < p; ++t) {
    const T* acc = ws + static_cast<idx>(t) * m;
    for (idx i = cut[t]; i < m; ++i) y[i] += acc[i];
  }
}

}  // namespace la
}  // namespace lr
