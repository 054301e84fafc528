// Recursive Cholesky on row-major storage (the left triangular solves are in solve_triangular.cc).
//
// Cholesky (dpotrf2's recursion): L11 = chol(A11); L21 = A21 L11^-T (right triangular solve);
// A22 -= L21 L21^T (lower-only syrk); recurse on A22. Every large step is a gemm/syrk of about half
// the size, so the threads live inside those calls.
// The algorithm reports a failed pivot by its order (LAPACK's info) and never formats an error: the
// message is the binding's (factor.cc).
#include "blas2.h"
#include "lapack.h"

namespace lr {
namespace la {
namespace {

constexpr idx kCholLeaf = 32;
constexpr idx kTrsmLeaf = 32;

// Unblocked row-major Cholesky (Cholesky-Crout by rows; the dots run over contiguous rows).
template <class T>
idx potrfLeaf(idx off, idx n, T* A, idx ld) {
  for (idx i = 0; i < n; ++i) {
    T* ai = A + i * ld;
    for (idx j = 0; j < i; ++j) {
      const T* aj = A + j * ld;
      ai[j] = (ai[j] - kdot(j, ai, aj)) / aj[j];
    }
    T d = ai[i] - kdot(i, ai, ai);
    if (!(d > T(0))) return off + i + 1;
    ai[i] = std::sqrt(d);
  }
  return 0;
}

// Solves X L^T = B in place for the rows of B (r x k, ldb); L lower k x k (ld). Leaf of the recursion:
// a block of rows is transposed into a column-major scratch so the substitution runs over long
// contiguous vectors.
template <class T>
void trsmRLTLeaf(idx r, idx k, const T* L, idx ld, T* B, idx ldb, int threads) {
  auto body = [&](idx r0, idx r1, int) {
    constexpr idx RB = 64;
    T tmp[RB * kTrsmLeaf];
    T inv[kTrsmLeaf];
    for (idx j = 0; j < k; ++j) inv[j] = T(1) / L[j * ld + j];
    for (idx b0 = r0; b0 < r1; b0 += RB) {
      idx rb = std::min(RB, r1 - b0);
      // tmp column j = B(b0:b0+rb, j)
      for (idx i = 0; i < rb; ++i)
        for (idx j = 0; j < k; ++j) tmp[j * RB + i] = B[(b0 + i) * ldb + j];
      for (idx j = 0; j < k; ++j) {
        T* xj = tmp + j * RB;
        for (idx l = 0; l < j; ++l) kaxpy(rb, -L[j * ld + l], tmp + l * RB, xj);
        for (idx i = 0; i < rb; ++i) xj[i] *= inv[j];
      }
      for (idx i = 0; i < rb; ++i)
        for (idx j = 0; j < k; ++j) B[(b0 + i) * ldb + j] = tmp[j * RB + i];
    }
  };
  // Rows are independent (kaxpy gives an entry the same value wherever a row range starts).
  if (threads > 1 && r * k * k >= 200000)
    parallelRanges(threads, r, 64, body);
  else
    body(0, r, 0);
}

template <class T>
void trsmRLT(idx r, idx k, const T* L, idx ld, T* B, idx ldb, int threads) {
  if (r <= 0 || k <= 0) return;
  if (k <= kTrsmLeaf) {
    trsmRLTLeaf(r, k, L, ld, B, ldb, threads);
    return;
  }
  idx k1 = ((k / 2 + 15) / 16) * 16;
  if (k1 >= k) k1 = k / 2;
  idx k2 = k - k1;
  trsmRLT(r, k1, L, ld, B, ldb, threads);
  // B2 -= X1 L21^T, L21 = L(k1:k, 0:k1)
  gemm<T>(false, true, r, k2, k1, T(-1), B, ldb, L + k1 * ld, ld, T(1), B + k1, ldb, threads);
  trsmRLT(r, k2, L + k1 * ld + k1, ld, B + k1, ldb, threads);
}

template <class T>
idx potrfRec(idx off, idx n, T* A, idx ld, int threads) {
  if (n <= kCholLeaf) return potrfLeaf(off, n, A, ld);
  idx n1 = ((n / 2 + 15) / 16) * 16;
  if (n1 >= n) n1 = n / 2;
  idx n2 = n - n1;
  if (idx bad = potrfRec(off, n1, A, ld, threads)) return bad;
  T* A21 = A + n1 * ld;
  T* A22 = A21 + n1;
  trsmRLT(n2, n1, A, ld, A21, ld, threads);
  syrkLower<T>(false, n2, n1, T(-1), A21, ld, T(1), A22, ld, threads);
  return potrfRec(off + n1, n2, A22, ld, threads);
}

}  // namespace

template <class T>
idx potrf(idx n, T* L, idx ld, int threads) {
  if (n <= 0) return 0;
  if (idx bad = potrfRec(0, n, L, ld, threads)) return bad;
  for (idx i = 0; i < n; ++i)
    for (idx j = i + 1; j < n; ++j) L[i * ld + j] = 0;
  return 0;
}

template idx potrf<float>(idx, float*, idx, int);
template idx potrf<double>(idx, double*, idx, int);

}  // namespace la
}  // namespace lr
