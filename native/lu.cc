// LU with partial pivoting of a tall m x n row-major matrix (m >= n), in scipy's permute_l form (the
// algorithm; the lu binding is in factor.cc):
// A = PL U, PL = P L (m x n, the unit lower trapezoidal L with its rows in A's row order), U n x n.
//
// Rows are never swapped. The factorization works on a copy of A (the PL output) and records, for
// every row, the step at which it became a pivot (or -1): at the end a pivot row p_s holds the
// multipliers of steps < s and row s of U; an unpivoted row holds n multipliers. U is read off the
// pivot rows, then the pivot rows get their unit diagonal and zeros to the right.
//
// Blocked right-looking algorithm, tuned for tall-skinny shapes (m up to ~1e6, n up to ~200):
//   for each panel of kPanel columns [j0, j1):
//     for j in [j0, j1): pivot = best |W[i, j]| over unpivoted rows (first on ties); for each unpivoted
//       row: multiplier l = W[i, j] / d, rank-1 update of the row's panel part only, and the candidate
//       for column j + 1 from the freshly updated entry (one fused pass over the rows per column);
//     U12 = rows of U for the trailing columns: a unit lower triangular solve on the pivot rows;
//     trailing update W[i, j1:] -= W[i, j0:j1] U12 for the unpivoted rows, by gemm on each run of
//       consecutive unpivoted rows (level-3), then a pivot search of column j1.
// The per-column passes touch one or two cache lines per row; the trailing columns are touched once
// per panel. Each row's arithmetic does not depend on the thread split and the pivot search is a
// total order (magnitude, then row index), so results are bit-identical for any thread count.
// A zero pivot (a zero column among the unpivoted rows) leaves the multipliers at zero, as getrf does.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gemm.h"
#include "lapack.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Columns per panel.
constexpr int64_t kPanel = 32;
// Rows per task of a parallel pass.
constexpr int64_t kRowChunk = 2048;

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
      : A_(A),
        m_(m),
        n_(n),
        W_(W),
        U_(U),
        threads_(threads),
        step_(static_cast<size_t>(m), -1),
        piv_(static_cast<size_t>(n), 0) {}

  void run() {
    copyIn();
    if (n_ == 0) return;
    Cand cand = search(0);
    for (int64_t j0 = 0; j0 < n_; j0 += kPanel) {
      const int64_t j1 = std::min(n_, j0 + kPanel);
      for (int64_t j = j0; j < j1; ++j) cand = panelStep(j, j1, cand);
      if (j1 < n_) {
        trailingUpdate(j0, j1);
        cand = search(j1);
      }
    }
    finish();
  }

 private:
  const T* A_;
  int64_t m_, n_;
  T* W_;
  T* U_;
  int threads_;
  std::vector<int32_t> step_;
  std::vector<int64_t> piv_;

  int64_t chunks() const { return (m_ + kRowChunk - 1) / kRowChunk; }
  int passThreads(double work) const { return work < 2.0e5 ? 1 : threads_; }

  void copyIn() {
    const int64_t total = m_ * n_;
    parallelRanges(threads_, total, 1 << 16, [&](int64_t b, int64_t e, int) {
      std::memcpy(W_ + b, A_ + b, sizeof(T) * static_cast<size_t>(e - b));
    });
  }

  // Best entry of column j among the unpivoted rows.
  Cand search(int64_t j) {
    const int64_t nc = chunks();
    std::vector<Cand> part(static_cast<size_t>(nc));
    parallelFor(passThreads(static_cast<double>(m_) * 4), nc, [&](int64_t c, int) {
      const int64_t r0 = c * kRowChunk, r1 = std::min(m_, r0 + kRowChunk);
      Cand best;
      for (int64_t i = r0; i < r1; ++i)
        if (step_[i] < 0) best.offer(static_cast<double>(W_[i * n_ + j]), i);
      part[c] = best;
    });
    Cand out;
    for (const Cand& p : part) out.merge(p);
    return out;
  }

  // Pivot step j inside the panel [.., j1): returns the candidate for column j + 1 (if in the panel).
  Cand panelStep(int64_t j, int64_t j1, Cand cand) {
    const int64_t p = cand.row;  // m >= n: there is always an unpivoted row
    if (p < 0) throwGeneric("lu: internal error (no pivot row left)");
    piv_[j] = p;
    step_[p] = static_cast<int32_t>(j);
    const T* prow = W_ + p * n_;
    const T d = prow[j];
    const bool scale = d != T(0);
    const bool next = j + 1 < j1;
    const int64_t w = j1 - j - 1;
    const int64_t nc = chunks();
    std::vector<Cand> part(static_cast<size_t>(nc));
    parallelFor(passThreads(static_cast<double>(m_) * (w + 2)), nc, [&](int64_t c, int) {
      const int64_t r0 = c * kRowChunk, r1 = std::min(m_, r0 + kRowChunk);
      Cand best;
      T pr[256];
      for (int64_t k = 0; k < w; ++k) pr[k] = prow[j + 1 + k];
      for (int64_t i = r0; i < r1; ++i) {
        if (step_[i] >= 0) continue;
        T* wi = W_ + i * n_ + j;
        T l = wi[0];
        if (scale) {
          l = l / d;
          wi[0] = l;
        }
        for (int64_t k = 0; k < w; ++k) wi[1 + k] -= l * pr[k];
        if (next) best.offer(static_cast<double>(wi[1]), i);
      }
      part[c] = best;
    });
    Cand out;
    if (next)
      for (const Cand& q : part) out.merge(q);
    return out;
  }

  // After the panel [j0, j1): U rows j0..j1-1 for the trailing columns, then the level-3 update.
  void trailingUpdate(int64_t j0, int64_t j1) {
    const int64_t nb = j1 - j0, nt = n_ - j1;
    std::vector<T> U12(static_cast<size_t>(nb * nt));
    for (int64_t s = 0; s < nb; ++s) {
      T* ws = W_ + piv_[j0 + s] * n_;
      T* u = U12.data() + s * nt;
      std::memcpy(u, ws + j1, sizeof(T) * static_cast<size_t>(nt));
      for (int64_t k = 0; k < s; ++k) {
        const T l = ws[j0 + k];
        const T* uk = U12.data() + k * nt;
        for (int64_t c = 0; c < nt; ++c) u[c] -= l * uk[c];
      }
      std::memcpy(ws + j1, u, sizeof(T) * static_cast<size_t>(nt));
    }
    // Runs of consecutive unpivoted rows.
    int64_t i = 0;
    while (i < m_) {
      while (i < m_ && step_[i] >= 0) ++i;
      int64_t r0 = i;
      while (i < m_ && step_[i] < 0) ++i;
      if (i > r0)
        gemm<T>(false, false, i - r0, nt, nb, T(-1), W_ + r0 * n_ + j0, n_, U12.data(), nt, T(1), W_ + r0 * n_ + j1, n_,
                threads_);
    }
  }

  void finish() {
    for (int64_t s = 0; s < n_; ++s) {
      const T* ws = W_ + piv_[s] * n_;
      T* us = U_ + s * n_;
      for (int64_t c = 0; c < n_; ++c) us[c] = c >= s ? ws[c] : T(0);
    }
    for (int64_t s = 0; s < n_; ++s) {
      T* ws = W_ + piv_[s] * n_;
      ws[s] = T(1);
      for (int64_t c = s + 1; c < n_; ++c) ws[c] = T(0);
    }
  }
};

}  // namespace

template <class T>
void getrfPermuteL(idx m, idx n, const T* A, T* PL, T* U, int threads) {
  if (n == 0) return;  // nothing to factor (m x 0); the solver's O(m) workspace would be wasted
  LuSolver<T>(A, m, n, PL, U, threads).run();
}

template void getrfPermuteL<float>(idx, idx, const float*, float*, float*, int);
template void getrfPermuteL<double>(idx, idx, const double*, double*, double*, int);

}  // namespace la
}  // namespace lr
