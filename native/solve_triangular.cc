// Left triangular solves op(T) X = B on row-major storage (the algorithm behind the solveTriangular
// export; binding in factor.cc).
//
// The solves recurse on halves of T (X1 = T11^-1 B1; B2 -= T21 X1; X2 = T22^-1 B2, and the three other
// orientations), with substitution leaves; independent right-hand-side columns are split across
// threads when there are many.
#include "blas2.h"
#include "lapack.h"

namespace lr {
namespace la {
namespace {

constexpr idx kTrsmLeaf = 32;

// ---- left triangular solves --------------------------------------------------------------------------

// Leaves: X row-major (n x nrhs), substitution with row operations.
template <class T>
void trsmLeaf(bool lower, bool trans, idx n, idx nrhs, const T* Tm, idx ldt, T* X, idx ldx) {
  const bool forward = lower != trans;  // L X = B and U^T X = B run top-down
  if (nrhs == 1) {
    if (lower && !trans) {
      for (idx i = 0; i < n; ++i) X[i * ldx] = (X[i * ldx] - dotStrided(i, Tm + i * ldt, X, ldx)) / Tm[i * ldt + i];
    } else if (!lower && !trans) {
      for (idx i = n - 1; i >= 0; --i)
        X[i * ldx] =
            (X[i * ldx] - dotStrided(n - 1 - i, Tm + i * ldt + i + 1, X + (i + 1) * ldx, ldx)) / Tm[i * ldt + i];
    } else if (lower && trans) {
      for (idx i = n - 1; i >= 0; --i) {
        T xi = X[i * ldx] / Tm[i * ldt + i];
        X[i * ldx] = xi;
        const T* row = Tm + i * ldt;
        for (idx k = 0; k < i; ++k) X[k * ldx] -= row[k] * xi;
      }
    } else {
      for (idx i = 0; i < n; ++i) {
        T xi = X[i * ldx] / Tm[i * ldt + i];
        X[i * ldx] = xi;
        const T* row = Tm + i * ldt;
        for (idx k = i + 1; k < n; ++k) X[k * ldx] -= row[k] * xi;
      }
    }
    return;
  }
  if (!trans) {
    // Row i: x_i = (b_i - sum_j T[i][j] x_j) / T[i][i], j over the solved side.
    for (idx s = 0; s < n; ++s) {
      idx i = forward ? s : n - 1 - s;
      T* xi = X + i * ldx;
      const T* row = Tm + i * ldt;
      idx j0 = lower ? 0 : i + 1, j1 = lower ? i : n;
      for (idx j = j0; j < j1; ++j) kaxpy(nrhs, -row[j], X + j * ldx, xi);
      T inv = T(1) / row[i];
      for (idx c = 0; c < nrhs; ++c) xi[c] *= inv;
    }
  } else {
    // op(T) = T^T: column-oriented; finish x_i, then remove it from the rows still to be solved.
    for (idx s = 0; s < n; ++s) {
      idx i = forward ? s : n - 1 - s;
      T* xi = X + i * ldx;
      const T* row = Tm + i * ldt;
      T inv = T(1) / row[i];
      for (idx c = 0; c < nrhs; ++c) xi[c] *= inv;
      idx k0 = lower ? 0 : i + 1, k1 = lower ? i : n;
      for (idx k = k0; k < k1; ++k) kaxpy(nrhs, -row[k], xi, X + k * ldx);
    }
  }
}

template <class T>
void trsmRec(bool lower, bool trans, idx n, idx nrhs, const T* Tm, idx ldt, T* X, idx ldx, int threads) {
  if (n <= kTrsmLeaf * 2) {
    trsmLeaf(lower, trans, n, nrhs, Tm, ldt, X, ldx);
    return;
  }
  idx n1 = ((n / 2 + 15) / 16) * 16;
  if (n1 >= n) n1 = n / 2;
  idx n2 = n - n1;
  const T* T11 = Tm;
  const T* T22 = Tm + n1 * ldt + n1;
  T* X1 = X;
  T* X2 = X + n1 * ldx;
  const bool forward = lower != trans;
  if (forward) {
    trsmRec(lower, trans, n1, nrhs, T11, ldt, X1, ldx, threads);
    if (lower)  // L21 X1: L21 = T(n1:n, 0:n1)
      gemm<T>(false, false, n2, nrhs, n1, T(-1), Tm + n1 * ldt, ldt, X1, ldx, T(1), X2, ldx, threads);
    else  // U12^T X1: U12 = T(0:n1, n1:n)
      gemm<T>(true, false, n2, nrhs, n1, T(-1), Tm + n1, ldt, X1, ldx, T(1), X2, ldx, threads);
    trsmRec(lower, trans, n2, nrhs, T22, ldt, X2, ldx, threads);
  } else {
    trsmRec(lower, trans, n2, nrhs, T22, ldt, X2, ldx, threads);
    if (lower)  // L21^T X2
      gemm<T>(true, false, n1, nrhs, n2, T(-1), Tm + n1 * ldt, ldt, X2, ldx, T(1), X1, ldx, threads);
    else  // U12 X2
      gemm<T>(false, false, n1, nrhs, n2, T(-1), Tm + n1, ldt, X2, ldx, T(1), X1, ldx, threads);
    trsmRec(lower, trans, n1, nrhs, T11, ldt, X1, ldx, threads);
  }
}

}  // namespace

template <class T>
void trsmLeft(bool lower, bool trans, idx n, idx nrhs, const T* Tm, idx ldt, T* X, idx ldx, int threads) {
  if (n <= 0 || nrhs <= 0) return;
  if (threads > 1 && nrhs >= 64 && static_cast<double>(n) * n * nrhs >= 4e6) {
    // Independent column blocks, one sequential solve per thread. The split may follow the thread
    // count: no sum crosses columns, and gemm and the axpy kernel compute an entry the same way
    // wherever a block starts (so results are bit-identical for any thread count).
    idx parts = std::min<idx>(threads, nrhs / 32);
    parallelRanges(static_cast<int>(parts), parts, 1, [&](idx p0, idx p1, int) {
      for (idx p = p0; p < p1; ++p) {
        idx c0 = nrhs * p / parts, c1 = nrhs * (p + 1) / parts;
        trsmRec(lower, trans, n, c1 - c0, Tm, ldt, X + c0, ldx, 1);
      }
    });
    return;
  }
  trsmRec(lower, trans, n, nrhs, Tm, ldt, X, ldx, threads);
}

template void trsmLeft<float>(bool, bool, idx, idx, const float*, idx, float*, idx, int);
template void trsmLeft<double>(bool, bool, idx, idx, const double*, idx, double*, idx, int);

}  // namespace la
}  // namespace lr
