// Thin SVD: QR first when the matrix is tall enough (m >= 11 n / 6), Householder bidiagonalization
// (blocked, dgebrd/dlabrd structure: two threaded gemv per column plus gemm trailing updates), the
// bidiagonal divide and conquer of dc.cc, and blocked back-transformations straight into the
// row-major outputs.
#include "blas2.h"
#include "lapack.h"

namespace lr {
namespace la {
namespace {

// Panel of the upper bidiagonalization (dlabrd, m >= n) of the column-major m x n matrix A: reduces nb
// rows/columns and returns X (m x nb), Y (n x nb) with the trailing update A -= V Y^T + X U^T.
template <class T>
void labrd(idx m, idx n, idx nb, T* A, idx lda, T* d, T* e, T* tauq, T* taup, T* X, idx ldx, T* Y, idx ldy, T* tmp,
           T* tmp2, int threads) {
  for (idx i = 0; i < nb; ++i) {
    T* ai = A + i + i * lda;
    idx mi = m - i;
    if (i > 0) {
      // A(i:m, i) -= A(i:m, 0:i) Y(i, 0:i)^T + X(i:m, 0:i) A(0:i, i)
      for (idx l = 0; l < i; ++l) tmp[l] = Y[i + l * ldy];
      gemvN(mi, i, T(-1), A + i, lda, tmp, T(1), ai, threads);
      gemvN(mi, i, T(-1), X + i, ldx, A + i * lda, T(1), ai, threads);
    }
    tauq[i] = larfg(mi, ai[0], ai + 1, 1);
    d[i] = ai[0];
    if (i < n - 1) {
      ai[0] = 1;
      idx nr = n - i - 1;
      T* yi = Y + (i + 1) + i * ldy;  // Y(i+1:n, i)
      T* yt = Y + i * ldy;            // Y(0:i, i) scratch
      gemvT(mi, nr, T(1), A + i + (i + 1) * lda, lda, ai, T(0), yi, threads);
      if (i > 0) {
        gemvT(mi, i, T(1), A + i, lda, ai, T(0), yt, threads);
        gemvN(nr, i, T(-1), Y + (i + 1), ldy, yt, T(1), yi, threads);
        gemvT(mi, i, T(1), X + i, ldx, ai, T(0), yt, threads);
        // yi -= A(0:i, i+1:n)^T yt
        gemvT(i, nr, T(-1), A + (i + 1) * lda, lda, yt, T(1), yi, threads);
      }
      for (idx r = 0; r < nr; ++r) yi[r] *= tauq[i];
      // Row update: A(i, i+1:n) -= Y(i+1:n, 0:i+1) A(i, 0:i+1)^T + A(0:i, i+1:n)^T X(i, 0:i)^T
      for (idx l = 0; l <= i; ++l) tmp[l] = A[i + l * lda];
      gemvN(nr, i + 1, T(1), Y + (i + 1), ldy, tmp, T(0), tmp2, threads);
      if (i > 0) {
        for (idx l = 0; l < i; ++l) tmp[l] = X[i + l * ldx];
        gemvT(i, nr, T(1), A + (i + 1) * lda, lda, tmp, T(1), tmp2, threads);
      }
      T* row = A + i + (i + 1) * lda;  // stride lda
      for (idx r = 0; r < nr; ++r) row[r * lda] -= tmp2[r];
      taup[i] = larfg(nr, row[0], row + lda, lda);
      e[i] = row[0];
      row[0] = 1;
      // X(i+1:m, i) = taup (A(i+1:m, i+1:n) u - A(i+1:m, 0:i+1) (Y(i+1:n, 0:i+1)^T u) - X(i+1:m, 0:i) (A(0:i, i+1:n) u))
      for (idx r = 0; r < nr; ++r) tmp2[r] = row[r * lda];  // u contiguous
      T* xi = X + (i + 1) + i * ldx;
      T* xt = X + i * ldx;  // X(0:i+1, i) scratch
      idx mr = m - i - 1;
      gemvN(mr, nr, T(1), A + (i + 1) + (i + 1) * lda, lda, tmp2, T(0), xi, threads);
      gemvT(nr, i + 1, T(1), Y + (i + 1), ldy, tmp2, T(0), xt, threads);
      gemvN(mr, i + 1, T(-1), A + (i + 1), lda, xt, T(1), xi, threads);
      if (i > 0) {
        gemvN(i, nr, T(1), A + (i + 1) * lda, lda, tmp2, T(0), xt, threads);
        gemvN(mr, i, T(-1), X + (i + 1), ldx, xt, T(1), xi, threads);
      }
      for (idx r = 0; r < mr; ++r) xi[r] *= taup[i];
    } else {
      taup[i] = 0;
    }
  }
}

}  // namespace

// Upper bidiagonalization (declared in lapack.h; svdvals.cc uses it without the reflectors).
template <class T>
void gebrd(idx m, idx n, T* A, idx lda, T* d, T* e, T* tauq, T* taup, int threads) {
  const idx nb = 32;
  Buf<T> X(m * nb), Y(n * nb), tmp(n + 1), tmp2(n + 1);
  for (idx i0 = 0; i0 < n;) {
    idx mm = m - i0, nn = n - i0;
    idx jb = std::min(nb, nn);
    T* Ap = A + i0 + i0 * lda;
    labrd(mm, nn, jb, Ap, lda, d + i0, e + i0, tauq + i0, taup + i0, X.data(), mm, Y.data(), nn, tmp.data(),
          tmp2.data(), threads);
    if (nn > jb) {
      idx mt = mm - jb, nt = nn - jb;
      T* C = Ap + jb + jb * lda;
      // C -= A(jb:, 0:jb) Y(jb:, 0:jb)^T + X(jb:, 0:jb) A(0:jb, jb:)
      gemmCM(false, true, mt, nt, jb, T(-1), Ap + jb, lda, Y.data() + jb, nn, T(1), C, lda, threads);
      gemmCM(false, false, mt, nt, jb, T(-1), X.data() + jb, mm, Ap + jb * lda, lda, T(1), C, lda, threads);
    }
    for (idx j = 0; j < jb; ++j) {
      A[(i0 + j) + (i0 + j) * lda] = d[i0 + j];
      if (i0 + j + 1 < n) A[(i0 + j) + (i0 + j + 1) * lda] = e[i0 + j];
    }
    i0 += jb;
  }
}

template void gebrd<float>(idx, idx, float*, idx, float*, float*, float*, float*, int);
template void gebrd<double>(idx, idx, double*, idx, double*, double*, double*, double*, int);

namespace {

// SVD of the column-major M x N matrix Xc (M >= N, destroyed). Uo: row-major M x N, Vo: row-major
// N x N, S: descending.
template <class T>
void svdBidiag(idx M, idx N, T* Xc, idx ldx, T* Uo, idx ldu, T* S, T* Vo, idx ldv, int threads) {
  Buf<T> d(N), e(N), tq(N), tp(N);
  gebrd(M, N, Xc, ldx, d.data(), e.data(), tq.data(), tp.data(), threads);
  Buf<T> Ub(N * N), Vb(N * N);
  bdsdc(N, d.data(), e.data(), Ub.data(), N, Vb.data(), N, threads);
  // Reverse to descending while writing row-major: Uo(i, j) = Ub(i, N - 1 - j).
  transposeCopy(N, N, Ub.data(), N, Uo, ldu, threads);
  reverseColumns(N, N, Uo, ldu);
  transposeCopy(N, N, Vb.data(), N, Vo, ldv, threads);
  reverseColumns(N, N, Vo, ldv);
  for (idx i = N; i < M; ++i) std::fill(Uo + i * ldu, Uo + i * ldu + N, T(0));
  for (idx j = 0; j < N; ++j) S[j] = d[N - 1 - j];
  const T* Xp = Xc;
  auto left = [&](idx j0, idx jb, T* Vp, idx ldp) {
    for (idx c = 0; c < jb; ++c) {
      T* col = Vp + c * ldp;
      idx j = j0 + c;
      for (idx r = 0; r < c; ++r) col[r] = 0;
      col[c] = 1;
      for (idx r = c + 1; r < ldp; ++r) col[r] = Xp[(j0 + r) + j * ldx];
    }
  };
  applyReflectorsRM(false, M, N, tq.data(), left, Uo, N, ldu, 64, threads);
  if (N > 1) {
    auto right = [&](idx j0, idx jb, T* Vp, idx ldp) {
      // Reflector j acts on rows j+1..N-1 of V; panel row r is global row 1 + j0 + r; stored in row j of Xc.
      for (idx c = 0; c < jb; ++c) {
        T* col = Vp + c * ldp;
        idx j = j0 + c;
        for (idx r = 0; r < c; ++r) col[r] = 0;
        col[c] = 1;
        for (idx r = c + 1; r < ldp; ++r) col[r] = Xp[j + (1 + j0 + r) * ldx];
      }
    };
    applyReflectorsRM(false, N - 1, N - 1, tp.data(), right, Vo + ldv, N, ldv, 64, threads);
  }
}

// SVD of the tall M x N matrix X (M >= N) given row-major (trans = false: X = src, M x N, lds) or as
// the transpose of a row-major N x M src (trans = true).
template <class T>
inline void scaleAll(idx count, T* x, T sigma) {
  if (sigma != T(1))
    for (idx i = 0; i < count; ++i) x[i] *= sigma;
}

template <class T>
void svdTall(idx M, idx N, const T* src, idx lds, bool trans, T sigma, T* Uo, idx ldu, T* S, T* Vo, idx ldv,
             int threads) {
  if (6 * M >= 11 * N && N >= 8) {
    Buf<T> Xr(M * N), R(N * N);
    if (trans)
      transposeCopy(N, M, src, lds, Xr.data(), N, threads);
    else
      copyMat(M, N, src, lds, Xr.data(), N);
    scaleAll(M * N, Xr.data(), sigma);
    QRFactors<T> f;
    geqrf(M, N, Xr.data(), N, R.data(), N, f, threads);
    Buf<T> Rc(N * N);
    transposeCopy(N, N, R.data(), N, Rc.data(), N, threads);  // column-major R
    // U_R (N x N) into the top of Uo, then Uo = Q [U_R; 0].
    svdBidiag(N, N, Rc.data(), N, Uo, ldu, S, Vo, ldv, threads);
    for (idx i = N; i < M; ++i) std::fill(Uo + i * ldu, Uo + i * ldu + N, T(0));
    f.apply(false, N, Uo, ldu, threads);
  } else {
    Buf<T> Xc(M * N);
    if (trans)
      copyMat(N, M, src, lds, Xc.data(), M);  // row-major N x M == column-major M x N
    else
      transposeCopy(M, N, src, lds, Xc.data(), M, threads);
    scaleAll(M * N, Xc.data(), sigma);
    svdBidiag(M, N, Xc.data(), M, Uo, ldu, S, Vo, ldv, threads);
  }
}

}  // namespace

template <class T>
void gesdd(idx m, idx n, const T* A, idx lda, T* U, idx ldu, double* S, T* V, idx ldv, int threads) {
  idx k = std::min(m, n);
  if (k <= 0) return;
  bool finite = true;
  for (idx i = 0; i < m && finite; ++i) finite = allFinite(n, A + i * lda);
  if (!finite) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (idx i = 0; i < m; ++i) std::fill(U + i * ldu, U + i * ldu + k, nan);
    for (idx i = 0; i < n; ++i) std::fill(V + i * ldv, V + i * ldv + k, nan);
    for (idx j = 0; j < k; ++j) S[j] = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  T amax = 0;
  for (idx i = 0; i < m; ++i)
    for (idx j = 0; j < n; ++j) amax = std::max(amax, std::abs(A[i * lda + j]));
  const T sigma = safeScale(amax);  // huge or tiny inputs are scaled into the safe range, S scaled back
  Buf<T> s(k);
  if (m >= n)
    svdTall(m, n, A, lda, false, sigma, U, ldu, s.data(), V, ldv, threads);
  else
    svdTall(n, m, A, lda, true, sigma, V, ldv, s.data(), U, ldu, threads);
  for (idx j = 0; j < k; ++j) S[j] = static_cast<double>(s[j]) / static_cast<double>(sigma);
  // svd_flip (u-based): the largest-|.| entry of each U column is positive; V follows U.
  flipColumnsByMax(m, k, U, ldu, V, n, ldv);
}

template void gesdd<float>(idx, idx, const float*, idx, float*, idx, double*, float*, idx, int);
template void gesdd<double>(idx, idx, const double*, idx, double*, idx, double*, double*, idx, int);

}  // namespace la
}  // namespace lr
