// Dense factorization building blocks (LAPACK-style, written from the algorithms, not ported code).
//
// Conventions inside the factorization family:
//   * "CM" matrices are column-major (element (i, j) at p[i + j * ld]); "RM" matrices are row-major
//     (p[i * ld + j]). The addon boundary is row-major; panels and tridiagonal/bidiagonal reductions
//     work column-major, and every level-3 update goes through lr::gemm (row-major API, so the
//     column-major wrapper below just swaps operands).
//   * `threads` is the number of pool threads a routine may use. Routines called from inside a
//     parallel region get threads = 1 (the pool is never re-entered).
//   * Work buffers are O(m n) at most; inputs of the public entry points are never written.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "gemm.h"
#include "la_common.h"
#include "threadpool.h"

namespace lr {
namespace la {

using idx = int64_t;

// Uninitialized heap buffer (the factorizations overwrite everything they read).
template <class T>
struct Buf {
  std::unique_ptr<T[]> p;
  idx n = 0;
  Buf() = default;
  explicit Buf(idx count) { resize(count); }
  void resize(idx count) {
    if (count > n || !p) {
      p.reset(new T[static_cast<size_t>(std::max<idx>(count, 1))]);
      n = std::max<idx>(count, 1);
    }
  }
  T* data() { return p.get(); }
  const T* data() const { return p.get(); }
  T& operator[](idx i) { return p[i]; }
  const T& operator[](idx i) const { return p[i]; }
};

// Unit roundoff u = eps / 2 and the smallest "safe" scale (LAPACK's safmin / eps).
template <class T>
constexpr T unitRoundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}
template <class T>
constexpr T epsilon() {
  return std::numeric_limits<T>::epsilon();
}
template <class T>
constexpr T safeMin() {
  return std::numeric_limits<T>::min();
}

template <class T>
inline T sgn(T x) {
  return x < T(0) ? T(-1) : T(1);
}

// ---- level-3 wrapper: column-major C = alpha op(A) op(B) + beta C --------------------------------

// A column-major X (r x c, ld) is the row-major X^T (c x r, ld), so C^T = op(B)^T op(A)^T.
template <class T>
inline void gemmCM(bool transA, bool transB, idx m, idx n, idx k, T alpha, const T* A, idx lda, const T* B, idx ldb,
                   T beta, T* C, idx ldc, int threads) {
  if (m <= 0 || n <= 0) return;
  gemm<T>(transB, transA, n, m, k, alpha, B, ldb, A, lda, beta, C, ldc, threads);
}

// ---- level-1 helpers ------------------------------------------------------------------------------

// Euclidean norm of x (n entries, stride inc) without harmful overflow or underflow.
inline float nrm2(idx n, const float* x, idx inc) {
  double s0 = 0, s1 = 0;
  idx i = 0;
  if (inc == 1) {
    for (; i + 1 < n; i += 2) {
      s0 += static_cast<double>(x[i]) * x[i];
      s1 += static_cast<double>(x[i + 1]) * x[i + 1];
    }
  }
  for (; i < n; ++i) s0 += static_cast<double>(x[i * inc]) * x[i * inc];
  return static_cast<float>(std::sqrt(s0 + s1));
}

inline double nrm2(idx n, const double* x, idx inc) {
  double s[4] = {0, 0, 0, 0};
  idx i = 0;
  if (inc == 1)
    for (; i + 3 < n; i += 4) {
      s[0] += x[i] * x[i];
      s[1] += x[i + 1] * x[i + 1];
      s[2] += x[i + 2] * x[i + 2];
      s[3] += x[i + 3] * x[i + 3];
    }
  for (; i < n; ++i) s[0] += x[i * inc] * x[i * inc];
  double ss = (s[0] + s[1]) + (s[2] + s[3]);
  if (ss >= 1e-280 && ss <= 1e280) return std::sqrt(ss);
  if (std::isnan(ss)) return ss;
  // Rescale: tiny or huge entries (or an infinity). Divide by amax rather than multiply by 1 / amax,
  // which overflows to Inf when amax is subnormal (reflector chains on exactly rank-deficient input, e.g.
  // a constant matrix, shrink the residual columns geometrically into the subnormal range).
  double amax = 0;
  for (idx j = 0; j < n; ++j) amax = std::max(amax, std::abs(x[j * inc]));
  if (amax == 0 || std::isinf(amax) || std::isnan(amax)) return amax;
  double r = 0;
  for (idx j = 0; j < n; ++j) {
    double t = x[j * inc] / amax;
    r += t * t;
  }
  return amax * std::sqrt(r);
}

template <class T>
inline T dot(idx n, const T* x, const T* y) {
  T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  idx i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += x[i] * y[i];
    s1 += x[i + 1] * y[i + 1];
    s2 += x[i + 2] * y[i + 2];
    s3 += x[i + 3] * y[i + 3];
  }
  for (; i < n; ++i) s0 += x[i] * y[i];
  return (s0 + s1) + (s2 + s3);
}

// sum_i x[i] * y[i * incy]
template <class T>
inline T dotStrided(idx n, const T* x, const T* y, idx incy) {
  if (incy == 1) return dot(n, x, y);
  T s0 = 0, s1 = 0;
  idx i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += x[i] * y[i * incy];
    s1 += x[i + 1] * y[(i + 1) * incy];
  }
  for (; i < n; ++i) s0 += x[i] * y[i * incy];
  return s0 + s1;
}

template <class T>
inline void axpy(idx n, T a, const T* x, T* y) {
  for (idx i = 0; i < n; ++i) y[i] += a * x[i];
}

template <class T>
inline void scal(idx n, T a, T* x, idx inc) {
  for (idx i = 0; i < n; ++i) x[i * inc] *= a;
}

template <class T>
inline T lapy2(T x, T y) {
  T ax = std::abs(x), ay = std::abs(y);
  T w = std::max(ax, ay), z = std::min(ax, ay);
  if (z == T(0) || w > std::numeric_limits<T>::max()) return w;
  T q = z / w;
  return w * std::sqrt(T(1) + q * q);
}

// Plane rotation (LAPACK lartg semantics, simplified): [c s; -s c] [f; g] = [r; 0].
template <class T>
inline void lartg(T f, T g, T& c, T& s, T& r) {
  if (g == T(0)) {
    c = 1;
    s = 0;
    r = f;
  } else if (f == T(0)) {
    c = 0;
    s = sgn(g);
    r = std::abs(g);
  } else {
    T h = lapy2(f, g);
    c = std::abs(f) / h;
    s = g / h * sgn(f);
    r = sgn(f) * h;
  }
}

// Householder reflector (LAPACK larfg): given alpha and x (n - 1 entries), finds beta, tau, v with
// H [alpha; x] = [beta; 0], H = I - tau [1; v][1; v]^T. alpha <- beta, x <- v; returns tau.
template <class T>
inline T larfg(idx n, T& alpha, T* x, idx inc) {
  if (n <= 1) return T(0);
  T xnorm = nrm2(n - 1, x, inc);
  if (xnorm == T(0)) return T(0);
  T beta = -std::copysign(lapy2(alpha, xnorm), alpha);
  const T sfmin = safeMin<T>() / epsilon<T>();
  int knt = 0;
  if (std::abs(beta) < sfmin) {
    const T rs = T(1) / sfmin;
    do {
      ++knt;
      scal(n - 1, rs, x, inc);
      beta *= rs;
      alpha *= rs;
    } while (std::abs(beta) < sfmin && knt < 20);
    xnorm = nrm2(n - 1, x, inc);
    beta = -std::copysign(lapy2(alpha, xnorm), alpha);
  }
  T tau = (beta - alpha) / beta;
  scal(n - 1, T(1) / (alpha - beta), x, inc);
  for (int j = 0; j < knt; ++j) beta *= sfmin;
  alpha = beta;
  return tau;
}

// ---- layout helpers ---------------------------------------------------------------------------------

// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols (a blocked transpose; either view works:
// row-major rows x cols -> row-major cols x rows, or column-major cols x rows -> column-major rows x cols).
template <class T>
inline void transposeCopy(idx rows, idx cols, const T* src, idx lds, T* dst, idx ldd, int threads) {
  constexpr idx B = 32;
  idx tiles = (rows + B - 1) / B;
  auto body = [&](idx t0, idx t1, int) {
    for (idx ti = t0; ti < t1; ++ti) {
      idx i0 = ti * B, i1 = std::min(rows, i0 + B);
      for (idx j0 = 0; j0 < cols; j0 += B) {
        idx j1 = std::min(cols, j0 + B);
        for (idx i = i0; i < i1; ++i) {
          const T* s = src + i * lds;
          for (idx j = j0; j < j1; ++j) dst[j * ldd + i] = s[j];
        }
      }
    }
  };
  if (threads > 1 && rows * cols >= (idx(1) << 18))
    parallelRanges(threads, tiles, 2, body);
  else
    body(0, tiles, 0);
}

// Reverses the first `cols` entries of every row of the row-major M (rows x cols, ld).
template <class T>
inline void reverseColumns(idx rows, idx cols, T* M, idx ld) {
  for (idx i = 0; i < rows; ++i) std::reverse(M + i * ld, M + i * ld + cols);
}

template <class T>
inline void copyMat(idx rows, idx cols, const T* src, idx lds, T* dst, idx ldd) {
  for (idx i = 0; i < rows; ++i) std::memcpy(dst + i * ldd, src + i * lds, sizeof(T) * static_cast<size_t>(cols));
}

// Sign convention on a row-major M (rows x cols): for every column, find the first entry of largest
// magnitude; where it is negative, flip that column of M (and of the row-major M2, rows2 x cols, when
// given). Two row-wise sweeps (column scans of a row-major matrix would miss cache on every row).
template <class T>
inline void flipColumnsByMax(idx rows, idx cols, T* M, idx ldm, T* M2, idx rows2, idx ldm2) {
  if (cols <= 0) return;
  std::vector<T> best(static_cast<size_t>(cols), T(-1)), val(static_cast<size_t>(cols), T(0));
  for (idx i = 0; i < rows; ++i) {
    const T* r = M + i * ldm;
    for (idx j = 0; j < cols; ++j) {
      T a = std::abs(r[j]);
      if (a > best[j]) {
        best[j] = a;
        val[j] = r[j];
      }
    }
  }
  std::vector<T> sg(static_cast<size_t>(cols));
  bool any = false;
  for (idx j = 0; j < cols; ++j) {
    sg[j] = val[j] < T(0) ? T(-1) : T(1);
    any = any || val[j] < T(0);
  }
  if (!any) return;
  for (idx i = 0; i < rows; ++i)
    for (idx j = 0; j < cols; ++j) M[i * ldm + j] *= sg[j];
  if (M2)
    for (idx i = 0; i < rows2; ++i)
      for (idx j = 0; j < cols; ++j) M2[i * ldm2 + j] *= sg[j];
}

// Scale factor that brings a matrix with max |a_ij| = amax into [sqrt(safmin / eps), 1 / that] (the
// range where the reductions cannot overflow or lose everything to underflow); 1 when already inside.
template <class T>
inline T safeScale(T amax) {
  const T rmin = std::sqrt(safeMin<T>() / epsilon<T>());
  const T rmax = T(1) / rmin;
  if (amax > T(0) && amax < rmin) return rmin / amax;
  if (amax > rmax) return rmax / amax;
  return T(1);
}

template <class T>
inline bool allFinite(idx n, const T* x) {
  T acc = 0;
  for (idx i = 0; i < n; ++i) acc += x[i] * T(0);  // NaN or Inf turn 0 into NaN
  return acc == T(0);
}

// ---- block reflectors ---------------------------------------------------------------------------------

// T factor of a block reflector H = I - V T V^T = H_0 H_1 ... H_{k-1} from an explicit column-major V
// (rows x k, unit lower trapezoidal with explicit ones and zeros) and tau: the "UT transform" route, one
// gemm for G = V^T V, then T(0:j, j) = -tau_j T(0:j, 0:j) G(0:j, j). Tm is k x k column-major (ld ldt),
// zeros below the diagonal. work: k * k.
template <class T>
inline void larft(idx rows, idx k, const T* V, idx ldv, const T* tau, T* Tm, idx ldt, T* work, int threads) {
  T* G = work;
  gemmCM(true, false, k, k, rows, T(1), V, ldv, V, ldv, T(0), G, k, threads);
  for (idx j = 0; j < k; ++j) {
    for (idx i = j + 1; i < k; ++i) Tm[i + j * ldt] = 0;
    Tm[j + j * ldt] = tau[j];
    for (idx i = 0; i < j; ++i) {
      T s = 0;
      for (idx l = i; l < j; ++l) s += Tm[i + l * ldt] * G[l + j * k];
      Tm[i + j * ldt] = -tau[j] * s;
    }
  }
}

// C := H C (trans = false) or H^T C (trans = true), H = I - V T V^T, V column-major (mc x k, explicit),
// T column-major k x k upper with zeros below. C is row-major (mc x nc, ldc) when rowMajorC, else
// column-major. work: 2 * k * nc.
template <class T>
inline void larfbLeft(bool trans, bool rowMajorC, idx mc, idx nc, idx k, const T* V, idx ldv, const T* Tm, idx ldt,
                      T* C, idx ldc, T* work, int threads) {
  if (mc <= 0 || nc <= 0 || k <= 0) return;
  T* W = work;
  T* W2 = work + k * nc;
  if (rowMajorC) {
    // Row-major: V (cm, mc x k) is the row-major V^T (k x mc); T (cm) is the row-major T^T.
    gemm<T>(false, false, k, nc, mc, T(1), V, ldv, C, ldc, T(0), W, nc, threads);   // W = V^T C
    gemm<T>(!trans, false, k, nc, k, T(1), Tm, ldt, W, nc, T(0), W2, nc, threads);  // W2 = op(T) W
    gemm<T>(true, false, mc, nc, k, T(-1), V, ldv, W2, nc, T(1), C, ldc, threads);  // C -= V W2
  } else {
    gemmCM(true, false, k, nc, mc, T(1), V, ldv, C, ldc, T(0), W, k, threads);
    gemmCM(trans, false, k, nc, k, T(1), Tm, ldt, W, k, T(0), W2, k, threads);
    gemmCM(false, false, mc, nc, k, T(-1), V, ldv, W2, k, T(1), C, ldc, threads);
  }
}

// Applies Q = H_0 H_1 ... H_{k-1} (trans = false) or Q^T to the row-major C (rows x nc) from the left,
// blocked by nb, where reflector j acts on rows j .. rows - 1 (v_j[j] = 1). Wherever the reflectors
// are stored, `panel(j0, jb, Vp, ldv)` writes the explicit column-major (rows - j0) x jb panel of
// reflectors j0 .. j0 + jb - 1 (rows relative to j0; zeros above the unit diagonal) into Vp.
template <class T, class PanelFn>
inline void applyReflectorsRM(bool trans, idx rows, idx k, const T* tau, PanelFn&& panel, T* C, idx nc, idx ldc, idx nb,
                              int threads) {
  if (k <= 0 || nc <= 0 || rows <= 0) return;
  nb = std::max<idx>(1, std::min(nb, k));
  Buf<T> Vp(rows * nb), Tm(nb * nb), work(std::max(2 * nb * nc, nb * nb));
  idx nblocks = (k + nb - 1) / nb;
  for (idx b = 0; b < nblocks; ++b) {
    idx bi = trans ? b : nblocks - 1 - b;
    idx j0 = bi * nb, jb = std::min(nb, k - j0);
    idx mr = rows - j0;
    panel(j0, jb, Vp.data(), mr);
    larft(mr, jb, Vp.data(), mr, tau + j0, Tm.data(), nb, work.data(), threads);
    larfbLeft(trans, true, mr, nc, jb, Vp.data(), mr, Tm.data(), nb, C + j0 * ldc, ldc, work.data(), threads);
  }
}

// ---- QR -----------------------------------------------------------------------------------------------

// Blocked Householder QR of a row-major m x n matrix (m >= n). Keeps the reflectors (explicit
// column-major panels) and the T factors so that Q can be applied or formed afterwards.
template <class T>
struct QRFactors {
  idx m = 0, n = 0, nb = 0;
  std::vector<idx> voff;  // panel p: reflectors p*nb .. , stored column-major (m - p*nb) x jb at V + voff[p]
  Buf<T> V, Tf;           // Tf: panel p's T at Tf + p * nb * nb (ld nb)
  idx panels() const { return static_cast<idx>(voff.size()); }
  // C (row-major m x nc) := Q C or Q^T C.
  void apply(bool trans, idx nc, T* C, idx ldc, int threads) const;
  // Q (row-major m x n, thin) formed explicitly.
  void formQ(T* Q, idx ldq, int threads) const;
};

// Factors the row-major A (m x n, lda; overwritten, used as scratch). R (row-major n x n, ldr) receives
// the upper triangle with zeros below.
template <class T>
void geqrf(idx m, idx n, T* A, idx lda, T* R, idx ldr, QRFactors<T>& f, int threads);

// ---- Cholesky and triangular solves (row-major) ----------------------------------------------------

// In-place lower Cholesky of the row-major L (n x n, ld; chol.cc): reads the lower triangle, writes L
// there and zeros above. Returns 0, or the order (1-based) of the first leading minor that is not
// positive (LAPACK's info; L is then partly overwritten, the upper triangle untouched).
template <class T>
idx potrf(idx n, T* L, idx ld, int threads);

// Solves op(Tm) X = B in place (X holds B on entry; solve_triangular.cc), Tm row-major n x n triangular
// (only the `lower` or upper triangle is read), X row-major n x nrhs. No singularity check (callers check).
template <class T>
void trsmLeft(bool lower, bool trans, idx n, idx nrhs, const T* Tm, idx ldt, T* X, idx ldx, int threads);

// ---- symmetric eigensolver and SVD ---------------------------------------------------------------------

// Symmetric eigendecomposition of the row-major A (lower triangle read): w descending, V row-major
// (n x n, column j = eigenvector of w[j], largest-|.| entry positive).
template <class T>
void syevd(idx n, const T* A, idx lda, double* w, T* V, idx ldv, int threads);

// Thin SVD of the row-major A (m x n): k = min(m, n), U row-major m x k, S descending (k), V row-major
// n x k; sign convention of sklearn's svd_flip (largest-|.| entry of each U column positive).
template <class T>
void gesdd(idx m, idx n, const T* A, idx lda, T* U, idx ldu, double* S, T* V, idx ldv, int threads);

// Upper bidiagonalization A = Q B P^T of the column-major m x n matrix A (m >= n; svd.cc, blocked
// dgebrd/dlabrd structure): d (n), e (n - 1), tauq (n), taup (n); the left reflectors are left below the
// diagonal of A, the right ones right of the superdiagonal (callers that want only B ignore them).
template <class T>
void gebrd(idx m, idx n, T* A, idx lda, T* d, T* e, T* tauq, T* taup, int threads);

// Two-stage reduction of the column-major X (M x N, ld, M >= N; destroyed) to upper bidiagonal (d (N),
// e (N - 1), in f64) without keeping the transformations (svdvals.cc): QR / LQ panels of width b to upper
// band form (level-3 block reflector updates), then Givens bulge chasing of the band in f64, O(N^2 b).
template <class T>
void bidiagonalTwoStage(idx M, idx N, T* X, idx ld, idx b, double* d, double* e, int threads);

// Singular values only of the row-major A (m x n; svdvals.cc): S (min(m, n)) descending. QR first when
// tall (as gesdd), bidiagonalization without the reflectors applied, then the values of the bidiagonal
// by implicit QR (bdsqrValues). Returns 0, 1 when A has a non-finite entry (S untouched), or 2 when the
// bidiagonal QR iteration did not converge.
template <class T>
int gesvdvals(idx m, idx n, const T* A, idx lda, double* S, int threads);

// Singular values of the upper bidiagonal matrix with diagonal d (n) and superdiagonal e (n - 1), both
// overwritten: on success (true) d holds the values, descending, to high relative accuracy (Demmel-Kahan
// zero-shift / shifted implicit QR, values only, O(n^2)); false when it did not converge.
bool bdsqrValues(idx n, double* d, double* e);

// Tridiagonal / bidiagonal divide and conquer (column-major outputs, ascending values).
template <class T>
void stedc(idx n, T* d, T* e, T* Z, idx ldz, int threads);
template <class T>
void bdsdc(idx n, T* d, T* e, T* U, idx ldu, T* V, idx ldv, int threads);

// LU with partial pivoting of the row-major A (m x n, m >= n) in scipy's permute_l form A = PL U
// (lu.cc): PL row-major m x n, U row-major n x n upper triangular.
template <class T>
void getrfPermuteL(idx m, idx n, const T* A, T* PL, T* U, int threads);

// Least squares (minimum norm when rank-deficient or wide); returns the numerical rank.
template <class T>
idx gelsq(idx m, idx n, idx nrhs, const T* A, const T* B, T* X, int threads);

}  // namespace la
}  // namespace lr
