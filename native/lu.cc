// LU with partial pivoting of a tall m x n row-major matrix (m >= n), in scipy's permute_l form (the
// algorithm; the lu binding is in factor.cc):
// A = PL U, PL = P L (m x n, the unit lower trapezoidal L with its rows in A's row order), U n x n.
//
// Recursive LU (Toledo 1997; LAPACK dgetrf2) on a column-major copy W of A, rows swapped as in getrf:
//   lu(columns [j0, j0 + nc), rows [j0, m)):
//     nc <= kLeaf: unblocked leaf (below);
//     else n1 = nc / 2: lu(left n1 columns); apply their row swaps to the right columns;
//       A12 = L11^-1 A12 (recursive unit lower TRSM, level-3 below its leaf);
//       A22 -= A21 A12 (gemm); lu(right columns); apply their row swaps to the left columns.
// Leaf, per column j: pivot = first row of largest |W[i, j]| among rows >= j (NaN ranks below every
// number, as before), swap rows j and p inside the leaf, scale the multipliers by 1 / pivot, then
// one fused pass over the rows: rank-1 update of the leaf's remaining columns and the pivot search of
// column j + 1 on the freshly updated entries. Passes over many rows are split into fixed 2048-row
// chunks (merged in row order), so results are bit-identical for any thread count; gemm is too.
// At the end row i of W is row perm[i] of A: PL gets L's rows scattered back to A's row order (unit
// diagonal, zeros to the right on the pivot rows) and U is read off the first n rows.
// A zero pivot (a zero column among the remaining rows) leaves the multipliers unscaled (zero), as
// getrf does. Most of the m n^2 flops run in gemm; the leaf touches an m x kLeaf panel per column.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "gemm.h"
#include "lapack.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Columns of an unblocked leaf.
constexpr int64_t kLeaf = 8;
// Rows per task of a parallel pass.
constexpr int64_t kRowChunk = 2048;
// Level-3 updates below this many flops run on the caller: on a 4000 x 60 panel the largest is 7 MFLOP,
// and two threads measured slower than one there (hand-off per update, several updates per panel).
constexpr double kParallelGemmFlops = 3.0e7;
// Columns of a TRSM leaf (plain forward substitution).
constexpr int64_t kTrsmLeaf = 32;

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

template <class T>
class LuSolver {
 public:
  LuSolver(const T* A, int64_t m, int64_t n, T* W, T* U, int threads)
      : A_(A), m_(m), n_(n), W_(W), U_(U), threads_(threads), ipiv_(static_cast<size_t>(n), 0) {}

  void run() {
    const int64_t total = m_ * n_;
    parallelRanges(threads_, total, 1 << 17, [&](int64_t b, int64_t e, int) {
      std::memcpy(W_ + b, A_ + b, sizeof(T) * static_cast<size_t>(e - b));
    });
    factor(0, n_);
    finish();
  }

 private:
  const T* A_;
  int64_t m_, n_;
  T* W_;  // row-major m x n (the PL output), rows swapped as in getrf until finish()
  T* U_;
  int threads_;
  std::vector<int64_t> ipiv_;  // step j swapped rows j and ipiv_[j] (>= j)

  T* row(int64_t i) { return W_ + i * n_; }
  int passThreads(double work) const { return work < 2.0e5 ? 1 : threads_; }
  int gemmThreads(int64_t m, int64_t n, int64_t k) const {
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) < kParallelGemmFlops
               ? 1
               : threads_;
  }

  // Best |W[i, c]| over rows [r0, m).
  Cand search(int64_t c, int64_t r0) {
    Cand best;
    for (int64_t i = r0; i < m_; ++i) best.offer(static_cast<double>(W_[i * n_ + c]), i);
    return best;
  }

  // Row swaps of steps [s0, s1) applied to columns [c0, c1).
  void laswp(int64_t s0, int64_t s1, int64_t c0, int64_t c1) {
    for (int64_t s = s0; s < s1; ++s)
      if (ipiv_[s] != s) std::swap_ranges(row(s) + c0, row(s) + c1, row(ipiv_[s]) + c0);
  }

  // Rows [a, b) of one leaf step: l = w[0] * inv / div, w[1..W] -= l u, candidate from w[1] (W > 0).
  template <int Wd>
  Cand rowsStep(T* base, int64_t a, int64_t b, const T* u, T inv, T div) {
    Cand best;
    T uu[Wd > 0 ? Wd : 1];
    for (int c = 0; c < Wd; ++c) uu[c] = u[c];
    const bool plain = div == T(1);
    for (int64_t i = a; i < b; ++i) {
      T* wi = base + i * n_;
      const T l = plain ? wi[0] * inv : wi[0] / div;
      wi[0] = l;
      for (int c = 0; c < Wd; ++c) wi[1 + c] -= l * uu[c];
      if (Wd > 0) best.offer(static_cast<double>(wi[1]), i);
    }
    return best;
  }
  Cand dispatchRows(int64_t w, T* base, int64_t a, int64_t b, const T* u, T inv, T div) {
    switch (w) {
      case 0:
        return rowsStep<0>(base, a, b, u, inv, div);
      case 1:
        return rowsStep<1>(base, a, b, u, inv, div);
      case 2:
        return rowsStep<2>(base, a, b, u, inv, div);
      case 3:
        return rowsStep<3>(base, a, b, u, inv, div);
      case 4:
        return rowsStep<4>(base, a, b, u, inv, div);
      case 5:
        return rowsStep<5>(base, a, b, u, inv, div);
      case 6:
        return rowsStep<6>(base, a, b, u, inv, div);
      default:
        return rowsStep<7>(base, a, b, u, inv, div);
    }
  }

  // Unblocked LU of columns [c0, c1), rows [c0, m).
  void leaf(int64_t c0, int64_t c1) {
    Cand cand = search(c0, c0);
    for (int64_t j = c0; j < c1; ++j) {
      const int64_t p = cand.row;
      ipiv_[j] = p;
      if (p != j) std::swap_ranges(row(j) + c0, row(j) + c1, row(p) + c0);
      const T d = row(j)[j];
      const bool scale = d != T(0);
      // 1 / d overflows for a subnormal pivot: divide then (getf2's sfmin test).
      const bool recip = std::fabs(d) >= std::numeric_limits<T>::min();
      const T inv = recip ? T(1) / d : T(1);
      const bool next = j + 1 < c1;
      const int64_t r0 = j + 1, w = c1 - j - 1;
      if (r0 >= m_) break;  // j == m - 1: nothing below the pivot
      const int64_t nc = (m_ - r0 + kRowChunk - 1) / kRowChunk;
      std::vector<Cand> part(static_cast<size_t>(nc));
      T u[kLeaf];
      for (int64_t c = 0; c < w; ++c) u[c] = row(j)[j + 1 + c];
      parallelFor(passThreads(static_cast<double>(m_ - r0) * (w + 2)), nc, [&](int64_t t, int) {
        const int64_t a = r0 + t * kRowChunk, b = std::min(m_, a + kRowChunk);
        T* base = W_ + j;
        if (scale)
          part[t] = dispatchRows(w, base, a, b, u, recip ? inv : T(1), recip ? T(1) : d);
        else
          part[t] = dispatchRows(w, base, a, b, u, T(1), T(1));
      });
      cand = Cand();
      if (next)
        for (const Cand& q : part) cand.merge(q);
    }
  }

  // X (rows [r0, r0 + nr), columns [c0, c0 + nc)) = L^-1 X, L the unit lower triangle of W[r0.., r0..].
  void trsm(int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
    if (nr <= kTrsmLeaf) {
      for (int64_t k = 1; k < nr; ++k) {
        T* x = row(r0 + k) + c0;
        const T* l = row(r0 + k) + r0;
        for (int64_t q = 0; q < k; ++q) {
          const T lq = l[q];
          const T* xq = row(r0 + q) + c0;
          for (int64_t c = 0; c < nc; ++c) x[c] -= lq * xq[c];
        }
      }
      return;
    }
    const int64_t h = nr / 2;
    trsm(r0, h, c0, nc);
    gemm<T>(false, false, nr - h, nc, h, T(-1), row(r0 + h) + r0, n_, row(r0) + c0, n_, T(1), row(r0 + h) + c0, n_,
            gemmThreads(nr - h, nc, h));
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
    gemm<T>(false, false, m_ - j1, n2, n1, T(-1), row(j1) + j0, n_, row(j0) + j1, n_, T(1), row(j1) + j1, n_,
            gemmThreads(m_ - j1, n2, n1));
    factor(j1, n2);
    laswp(j1, j0 + nc, j0, j1);
  }

  // U from the first n rows, their L part completed (unit diagonal, zeros right), then the row swaps
  // undone in reverse order: W = P^T A became PL.
  void finish() {
    for (int64_t s = 0; s < n_; ++s) {
      T* ws = row(s);
      T* us = U_ + s * n_;
      for (int64_t c = 0; c < n_; ++c) us[c] = c >= s ? ws[c] : T(0);
      ws[s] = T(1);
      for (int64_t c = s + 1; c < n_; ++c) ws[c] = T(0);
    }
    for (int64_t j = n_ - 1; j >= 0; --j)
      if (ipiv_[j] != j) std::swap_ranges(row(j), row(j) + n_, row(ipiv_[j]));
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
