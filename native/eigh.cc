// Symmetric eigensolver: Householder tridiagonalization (blocked, dsytrd/dlatrd structure: half the
// flops in a threaded symv, half in a lower-only rank-2k gemm update), tridiagonal divide and
// conquer (dc.cc), and the blocked back-transformation Z <- Q Z (gemm-based block reflectors).
#include "blas2.h"
#include "lapack.h"

namespace lr {
namespace la {
namespace {

// Lower rank-2k update C -= X Y^T on the lower triangle of the column-major C (m x m), X, Y column-
// major m x k; done as column blocks of gemm (the diagonal blocks are computed whole: the strictly
// upper part of C is scratch).
template <class T>
void syr2kLowerBlocks(idx m, idx k, const T* X, idx ldx, const T* Y, idx ldy, T* C, idx ldc, int threads) {
  const idx bs = 192;
  for (idx c0 = 0; c0 < m; c0 += bs) {
    idx cw = std::min(bs, m - c0);
    gemmCM(false, true, m - c0, cw, k, T(-1), X + c0, ldx, Y + c0, ldy, T(1), C + c0 + c0 * ldc, ldc, threads);
  }
}

// Panel of the lower tridiagonal reduction (dlatrd, uplo = L) on the trailing m x m matrix A:
// reduces nb columns, returning W (m x nb) so that the trailing update is A -= V W^T + W V^T.
template <class T>
void latrdLower(idx m, idx nb, T* A, idx lda, T* e, T* tau, T* W, idx ldw, T* tmp, T* ws, int threads) {
  for (idx i = 0; i < nb; ++i) {
    T* ai = A + i + i * lda;  // A(i:m, i)
    idx len = m - i;
    if (i > 0) {
      // A(i:m, i) -= A(i:m, 0:i) W(i, 0:i)^T + W(i:m, 0:i) A(i, 0:i)^T
      for (idx l = 0; l < i; ++l) tmp[l] = W[i + l * ldw];
      gemvN(len, i, T(-1), A + i, lda, tmp, T(1), ai, threads);
      for (idx l = 0; l < i; ++l) tmp[l] = A[i + l * lda];
      gemvN(len, i, T(-1), W + i, ldw, tmp, T(1), ai, threads);
    }
    if (i < m - 1) {
      T* v = ai + 1;  // A(i+1:m, i)
      idx lv = m - i - 1;
      T t = larfg(lv, v[0], v + 1, 1);
      e[i] = v[0];
      v[0] = 1;
      tau[i] = t;
      T* wi = W + (i + 1) + i * ldw;
      symvLower(lv, A + (i + 1) + (i + 1) * lda, lda, v, wi, threads, ws);
      if (i > 0) {
        T* wt = W + i * ldw;  // W(0:i, i) as scratch
        gemvT(lv, i, T(1), W + (i + 1), ldw, v, T(0), wt, threads);
        gemvN(lv, i, T(-1), A + (i + 1), lda, wt, T(1), wi, threads);
        gemvT(lv, i, T(1), A + (i + 1), lda, v, T(0), wt, threads);
        gemvN(lv, i, T(-1), W + (i + 1), ldw, wt, T(1), wi, threads);
      }
      for (idx r = 0; r < lv; ++r) wi[r] *= t;
      T alpha = T(-0.5) * t * kdot(lv, wi, v);
      kaxpy(lv, alpha, v, wi);
    }
  }
}

// Reduces the symmetric A (lower triangle, column-major n x n) to tridiagonal form Q^T A Q = T;
// d (n), e (n - 1), tau (n - 1); the reflectors stay below the subdiagonal of A.
template <class T>
void sytrdLower(idx n, T* A, idx lda, T* d, T* e, T* tau, int threads) {
  const idx nb = 32;
  Buf<T> W(n * nb), X(n * 2 * nb), Y(n * 2 * nb), tmp(nb + 1), ws(kSymvParts * n);
  for (idx i0 = 0; i0 < n - 1;) {
    idx m = n - i0;
    idx jb = std::min(nb, m - 1);
    T* Ap = A + i0 + i0 * lda;
    latrdLower(m, jb, Ap, lda, e + i0, tau + i0, W.data(), m, tmp.data(), ws.data(), threads);
    idx mt = m - jb;
    if (mt > 0) {
      // A22 -= V W^T + W V^T with V = A(jb:m, 0:jb) (explicit ones in place), W(jb:m, :).
      T* Xp = X.data();
      T* Yp = Y.data();
      for (idx c = 0; c < jb; ++c) {
        std::memcpy(Xp + c * mt, Ap + jb + c * lda, sizeof(T) * mt);
        std::memcpy(Xp + (jb + c) * mt, W.data() + jb + c * m, sizeof(T) * mt);
        std::memcpy(Yp + c * mt, W.data() + jb + c * m, sizeof(T) * mt);
        std::memcpy(Yp + (jb + c) * mt, Ap + jb + c * lda, sizeof(T) * mt);
      }
      syr2kLowerBlocks(mt, 2 * jb, Xp, mt, Yp, mt, Ap + jb + jb * lda, lda, threads);
    }
    for (idx j = 0; j < jb; ++j) {
      A[(i0 + j + 1) + (i0 + j) * lda] = e[i0 + j];
      d[i0 + j] = A[(i0 + j) + (i0 + j) * lda];
    }
    i0 += jb;
  }
  d[n - 1] = A[(n - 1) + (n - 1) * lda];
}

}  // namespace

template <class T>
void syevd(idx n, const T* A, idx lda, double* w, T* V, idx ldv, int threads) {
  if (n <= 0) return;
  // Column-major copy of the lower triangle (row-major lower (i, j), i >= j, is column-major (i, j)).
  Buf<T> Ac(n * n);
  bool finite = true;
  for (idx j = 0; j < n; ++j)
    for (idx i = j; i < n; ++i) {
      T a = A[i * lda + j];
      Ac[i + j * n] = a;
      if (!std::isfinite(a)) finite = false;
    }
  if (!finite) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (idx j = 0; j < n; ++j) w[j] = std::numeric_limits<double>::quiet_NaN();
    for (idx i = 0; i < n; ++i) std::fill(V + i * ldv, V + i * ldv + n, nan);
    return;
  }
  if (n == 1) {
    w[0] = static_cast<double>(Ac[0]);
    V[0] = 1;
    return;
  }
  // Bring huge or tiny matrices into the safe range (eigenvalues are scaled back at the end).
  T amax = 0;
  for (idx j = 0; j < n; ++j)
    for (idx i = j; i < n; ++i) amax = std::max(amax, std::abs(Ac[i + j * n]));
  const T sigma = safeScale(amax);
  if (sigma != T(1))
    for (idx j = 0; j < n; ++j)
      for (idx i = j; i < n; ++i) Ac[i + j * n] *= sigma;
  Buf<T> d(n), e(n), tau(n);
  sytrdLower(n, Ac.data(), n, d.data(), e.data(), tau.data(), threads);
  Buf<T> Z(n * n);
  stedc(n, d.data(), e.data(), Z.data(), n, threads);
  // Descending order: V(:, j) <- Z(:, n - 1 - j), written row-major, then V <- Q V.
  for (idx j = 0; j < n; ++j) w[j] = static_cast<double>(d[n - 1 - j]) / static_cast<double>(sigma);
  transposeCopy(n, n, Z.data(), n, V, ldv, threads);  // V[i][j] = Z[i + j n]
  reverseColumns(n, n, V, ldv);
  const T* Acp = Ac.data();
  auto panel = [&](idx j0, idx jb, T* Vp, idx ldp) {
    // Reflector j acts on global rows j+1..n-1; panel row r is global row 1 + j0 + r.
    for (idx c = 0; c < jb; ++c) {
      T* col = Vp + c * ldp;
      idx j = j0 + c;
      for (idx r = 0; r < c; ++r) col[r] = 0;
      col[c] = 1;
      for (idx r = c + 1; r < ldp; ++r) col[r] = Acp[(1 + j0 + r) + j * n];
    }
  };
  applyReflectorsRM(false, n - 1, n - 1, tau.data(), panel, V + ldv, n, ldv, 64, threads);
  // Sign convention: the largest-|.| entry of every eigenvector is positive.
  flipColumnsByMax<T>(n, n, V, ldv, nullptr, 0, 0);
}

template void syevd<float>(idx, const float*, idx, double*, float*, idx, int);
template void syevd<double>(idx, const double*, idx, double*, double*, idx, int);

}  // namespace la
}  // namespace lr
