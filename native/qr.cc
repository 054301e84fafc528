// Blocked Householder QR (compact WY).
//
// The big matrix stays row-major (the addon layout); each panel of nb columns is copied into a
// column-major buffer and factored there by the recursive Elmroth-Gustavson scheme (dgeqrt3's
// structure: factor the left half, update the right half, factor it, join the T factors), so the
// panel is mostly gemm. The trailing matrix is updated with the block reflector
// C -= V (T^T (V^T C)), three gemm calls. Q is formed (or applied) from the stored panels, backwards.
#include "blas2.h"
#include "lapack.h"

namespace lr {
namespace la {
namespace {

// Unblocked QR of the column-major panel A (m x n, n small) with its T factor (dlarft recurrence).
template <class T>
void geqr2t(idx m, idx n, T* A, idx lda, T* Tm, idx ldt) {
  for (idx j = 0; j < n; ++j) {
    T* aj = A + j + j * lda;
    idx len = m - j;
    T tau = larfg(len, aj[0], aj + 1, 1);
    // Apply H_j^T to the remaining columns of the panel.
    if (tau != T(0))
      for (idx c = j + 1; c < n; ++c) {
        T* ac = A + j + c * lda;
        T w = ac[0] + kdot(len - 1, aj + 1, ac + 1);
        w *= tau;
        ac[0] -= w;
        kaxpy(len - 1, -w, aj + 1, ac + 1);
      }
    // T(0:j, j) = -tau T(0:j, 0:j) V(:, 0:j)^T v_j, with v_j = [1; A(j+1:m, j)] from row j.
    for (idx i = 0; i < j; ++i) {
      const T* vi = A + j + i * lda;  // rows j.. of v_i
      Tm[i + j * ldt] = vi[0] + kdot(len - 1, vi + 1, aj + 1);
    }
    for (idx i = 0; i < j; ++i) {
      T s = 0;
      for (idx l = i; l < j; ++l) s += Tm[i + l * ldt] * Tm[l + j * ldt];
      Tm[i + j * ldt] = s;  // rows i ascending read rows l >= i: overwrite is safe in increasing i
    }
    for (idx i = 0; i < j; ++i) Tm[i + j * ldt] *= -tau;
    Tm[j + j * ldt] = tau;
    for (idx i = j + 1; i < n; ++i) Tm[i + j * ldt] = 0;
  }
}

// W (p x q) = V^T A for column-major V (k x p), A (k x q) with small p, q and long k: dot-product
// kernels below ~16 x 16 (gemm's packing overhead dominates there), gemm above. beta: 0 or 1.
template <class T>
void smallTN(idx p, idx q, idx k, const T* V, idx ldv, const T* A, idx lda, T beta, T* W, idx ldw, int threads) {
  if (p * q > 256) {
    gemmCM(true, false, p, q, k, T(1), V, ldv, A, lda, beta, W, ldw, threads);
    return;
  }
  const B2Kernels<T>& kk = b2k<T>();
  T tmp[256];
  for (idx c = 0; c < q; ++c) {
    if (k > 0)
      kk.gemvT(k, p, V, ldv, A + c * lda, tmp);
    else
      std::fill(tmp, tmp + p, T(0));
    for (idx i = 0; i < p; ++i) W[i + c * ldw] = (beta == T(0) ? T(0) : W[i + c * ldw]) + tmp[i];
  }
}

// A (k x q) -= V (k x p) W (p x q), small p.
template <class T>
void smallNNsub(idx k, idx q, idx p, const T* V, idx ldv, const T* W, idx ldw, T* A, idx lda, int threads) {
  if (p > 16) {
    gemmCM(false, false, k, q, p, T(-1), V, ldv, W, ldw, T(1), A, lda, threads);
    return;
  }
  const B2Kernels<T>& kk = b2k<T>();
  T tmp[16];
  for (idx c = 0; c < q; ++c) {
    for (idx i = 0; i < p; ++i) tmp[i] = -W[i + c * ldw];
    if (k > 0) kk.gemvN(k, p, V, ldv, tmp, A + c * lda);
  }
}

// Recursive QR of the column-major panel A (m x n, m >= n) with T (n x n, ld ldt, zeros below).
// V is unit lower trapezoidal in A (implicit ones), R in the upper triangle. The gemm calls of the
// upper recursion levels (most of the flops of a tall panel) use `threads`; gemm is bit-identical for
// any thread count, so the factorization is too.
template <class T>
void geqrt3(idx m, idx n, T* A, idx lda, T* Tm, idx ldt, int threads) {
  if (n <= 8) {
    geqr2t(m, n, A, lda, Tm, ldt);
    return;
  }
  idx n1 = n / 2, n2 = n - n1;
  geqrt3(m, n1, A, lda, Tm, ldt, threads);
  // Apply H1^T = I - V1 T11^T V1^T to A2 = A(:, n1:n). W lives in T(0:n1, n1:n).
  T* W = Tm + n1 * ldt;
  const T* V1 = A;
  T* A2 = A + n1 * lda;
  // W = V1a^T A2a (V1a unit lower n1 x n1) + V1b^T A2b
  for (idx c = 0; c < n2; ++c)
    for (idx i = 0; i < n1; ++i) {
      T s = A2[i + c * lda];
      for (idx r = i + 1; r < n1; ++r) s += V1[r + i * lda] * A2[r + c * lda];
      W[i + c * ldt] = s;
    }
  smallTN(n1, n2, m - n1, V1 + n1, lda, A2 + n1, lda, T(1), W, ldt, threads);
  // W = T11^T W (T11 upper): row i of the result uses rows l <= i; go downwards.
  for (idx c = 0; c < n2; ++c)
    for (idx i = n1 - 1; i >= 0; --i) {
      T s = 0;
      for (idx l = 0; l <= i; ++l) s += Tm[l + i * ldt] * W[l + c * ldt];
      W[i + c * ldt] = s;
    }
  // A2b -= V1b W; A2a -= V1a W.
  smallNNsub(m - n1, n2, n1, V1 + n1, lda, W, ldt, A2 + n1, lda, threads);
  for (idx c = 0; c < n2; ++c)
    for (idx i = 0; i < n1; ++i) {
      T s = W[i + c * ldt];
      for (idx l = 0; l < i; ++l) s += V1[i + l * lda] * W[l + c * ldt];
      A2[i + c * lda] -= s;
    }
  // Factor the lower right part.
  geqrt3(m - n1, n2, A2 + n1, lda, Tm + n1 + n1 * ldt, ldt, threads);
  // T12 = -T11 (V1^T V2) T22, V1^T V2 = V1(n1:n, :)^T V2a + V1(n:m, :)^T V2b (V2a unit lower n2 x n2).
  T* X = W;               // n1 x n2, reuse
  const T* V2 = A2 + n1;  // rows n1.. of column n1..
  for (idx c = 0; c < n2; ++c)
    for (idx i = 0; i < n1; ++i) {
      T s = V1[(n1 + c) + i * lda];  // unit diagonal of V2a
      for (idx r = c + 1; r < n2; ++r) s += V1[(n1 + r) + i * lda] * V2[r + c * lda];
      X[i + c * ldt] = s;
    }
  if (m > n) smallTN(n1, n2, m - n, V1 + n, lda, V2 + n2, lda, T(1), X, ldt, threads);
  const T* T22 = Tm + n1 + n1 * ldt;
  // X = X T22 (upper): column c uses columns l <= c; go right to left.
  for (idx i = 0; i < n1; ++i)
    for (idx c = n2 - 1; c >= 0; --c) {
      T s = 0;
      for (idx l = 0; l <= c; ++l) s += X[i + l * ldt] * T22[l + c * ldt];
      X[i + c * ldt] = s;
    }
  // X = -T11 X (upper): row i uses rows l >= i; go top to bottom.
  for (idx c = 0; c < n2; ++c)
    for (idx i = 0; i < n1; ++i) {
      T s = 0;
      for (idx l = i; l < n1; ++l) s += Tm[i + l * ldt] * X[l + c * ldt];
      X[i + c * ldt] = -s;
    }
  for (idx c = 0; c < n1; ++c)
    for (idx i = n1; i < n; ++i) Tm[i + c * ldt] = 0;
}

// Panel width by problem size (faer's table shape: bigger problems, wider panels).
inline idx qrBlock(idx m, idx n) {
  double mn = static_cast<double>(m) * static_cast<double>(n);
  if (mn <= 256.0 * 256.0) return 32;
  if (mn <= 1024.0 * 1024.0) return 48;
  return 64;
}

}  // namespace

template <class T>
void geqrf(idx m, idx n, T* A, idx lda, T* R, idx ldr, QRFactors<T>& f, int threads) {
  f.m = m;
  f.n = n;
  f.voff.clear();
  if (n <= 0) return;
  idx nb = std::min(qrBlock(m, n), n);
  f.nb = nb;
  idx np = (n + nb - 1) / nb;
  idx vtotal = 0;
  for (idx p = 0; p < np; ++p) {
    idx j = p * nb, jb = std::min(nb, n - j);
    f.voff.push_back(vtotal);
    vtotal += (m - j) * jb;
  }
  f.V.resize(vtotal);
  f.Tf.resize(np * nb * nb);
  Buf<T> work(2 * nb * n);
  for (idx p = 0; p < np; ++p) {
    idx j = p * nb, jb = std::min(nb, n - j), mr = m - j;
    T* P = f.V.data() + f.voff[p];  // column-major mr x jb
    T* Tm = f.Tf.data() + p * nb * nb;
    // Copy the panel A(j:m, j:j+jb) (row-major) into P (column-major).
    transposeCopy(mr, jb, A + j * lda + j, lda, P, mr, threads);
    geqrt3(mr, jb, P, mr, Tm, nb, threads);
    // R(j:j+jb, j:j+jb) from the panel's upper triangle; make V explicit (unit diagonal, zeros above).
    for (idx c = 0; c < jb; ++c) {
      for (idx r = 0; r <= c; ++r) R[(j + r) * ldr + (j + c)] = P[r + c * mr];
      for (idx r = 0; r < c; ++r) P[r + c * mr] = 0;
      P[c + c * mr] = 1;
    }
    for (idx r = 0; r < jb; ++r)
      for (idx c = 0; c < r; ++c) R[(j + r) * ldr + (j + c)] = 0;
    idx nc = n - j - jb;
    if (nc > 0) {
      T* C = A + j * lda + (j + jb);
      larfbLeft(true, true, mr, nc, jb, P, mr, Tm, nb, C, lda, work.data(), threads);
      // Rows j .. j+jb of the updated trailing block are final rows of R.
      for (idx r = 0; r < jb; ++r) {
        std::memcpy(R + (j + r) * ldr + (j + jb), C + r * lda, sizeof(T) * static_cast<size_t>(nc));
        for (idx c = 0; c < j; ++c) R[(j + r) * ldr + c] = 0;
      }
    } else {
      for (idx r = 0; r < jb; ++r)
        for (idx c = 0; c < j; ++c) R[(j + r) * ldr + c] = 0;
    }
  }
}

template <class T>
void QRFactors<T>::apply(bool trans, idx nc, T* C, idx ldc, int threads) const {
  idx np = panels();
  if (np == 0 || nc <= 0) return;
  Buf<T> work(2 * nb * nc);
  for (idx q = 0; q < np; ++q) {
    idx p = trans ? q : np - 1 - q;
    idx j = p * nb, jb = std::min(nb, n - j), mr = m - j;
    larfbLeft(trans, true, mr, nc, jb, V.data() + voff[p], mr, Tf.data() + p * nb * nb, nb, C + j * ldc, ldc,
              work.data(), threads);
  }
}

template <class T>
void QRFactors<T>::formQ(T* Q, idx ldq, int threads) const {
  if (n <= 0) return;  // nothing to write (m may still be huge)
  for (idx i = 0; i < m; ++i) {
    std::memset(Q + i * ldq, 0, sizeof(T) * static_cast<size_t>(n));
    if (i < n) Q[i * ldq + i] = 1;
  }
  idx np = panels();
  if (np == 0) return;
  Buf<T> work(2 * nb * n);
  // Backwards; panel p only touches rows j.. and columns j.. (Q(0:j, j:n) is still zero there).
  for (idx p = np - 1; p >= 0; --p) {
    idx j = p * nb, jb = std::min(nb, n - j), mr = m - j;
    larfbLeft(false, true, mr, n - j, jb, V.data() + voff[p], mr, Tf.data() + p * nb * nb, nb, Q + j * ldq + j, ldq,
              work.data(), threads);
  }
}

template struct QRFactors<float>;
template struct QRFactors<double>;
template void geqrf<float>(idx, idx, float*, idx, float*, idx, QRFactors<float>&, int);
template void geqrf<double>(idx, idx, double*, idx, double*, idx, QRFactors<double>&, int);

}  // namespace la
}  // namespace lr
