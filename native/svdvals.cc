// Singular values only (the algorithm of the addon export `svdvals`; the binding is in eig.cc).
//
// As gesdd (svd.cc) up to the bidiagonal: the input scaled into the safe range, a blocked Householder
// QR first when the matrix is tall enough (m >= 11 n / 6, then R is reduced), then a bidiagonal B with
// no transformation kept or applied (no U or V is ever formed):
//  - below kTwoStageMin columns, the blocked one-stage gebrd (svd.cc), its reflectors dropped;
//  - from kTwoStageMin columns, two stages: QR / LQ panels of width kBand bring X to upper band form
//    with every update a block reflector product (gemm), then Givens bulge chasing takes the band to B
//    in O(n^2 b) on a compact copy of the band. gebrd's other half is gemv over the trailing matrix,
//    which is memory-bound at these sizes (the SVD needs gebrd's reflectors; we do not).
// The values of B then come from the implicit QR iteration in double precision (also for f32 input),
// values only: Demmel and Kahan's zero-shift sweeps when a shift would spoil relative accuracy, shifted
// sweeps otherwise, relative convergence criteria, chasing toward the smaller end of each block (the
// structure of LAPACK's dbdsqr without vectors, written from Demmel & Kahan, "Accurate singular values of
// bidiagonal matrices", SIAM J. Sci. Stat. Comput. 11, 1990). O(n^2), a few percent of the total.
#include <cmath>

#include "lapack.h"

namespace lr {
namespace la {
namespace {

// Singular values ssmin <= ssmax of the 2 x 2 upper triangular [f g; 0 h], without overflow and
// with small relative error (the formulas of LAPACK's dlas2 / Demmel-Kahan).
void las2(double f, double g, double h, double& ssmin, double& ssmax) {
  const double fa = std::abs(f), ga = std::abs(g), ha = std::abs(h);
  const double fhmn = std::min(fa, ha), fhmx = std::max(fa, ha);
  if (fhmn == 0) {
    ssmin = 0;
    if (fhmx == 0) {
      ssmax = ga;
    } else {
      const double mx = std::max(fhmx, ga), mn = std::min(fhmx, ga);
      ssmax = mx * std::sqrt(1 + (mn / mx) * (mn / mx));
    }
    return;
  }
  if (ga < fhmx) {
    const double as = 1 + fhmn / fhmx, at = (fhmx - fhmn) / fhmx, au = (ga / fhmx) * (ga / fhmx);
    const double c = 2 / (std::sqrt(as * as + au) + std::sqrt(at * at + au));
    ssmin = fhmn * c;
    ssmax = fhmx / c;
    return;
  }
  const double au = fhmx / ga;
  if (au == 0) {
    // |g| dominates so much that (fhmx / ga)^2 underflows.
    ssmin = (fhmn * fhmx) / ga;
    ssmax = ga;
    return;
  }
  const double as = 1 + fhmn / fhmx, at = (fhmx - fhmn) / fhmx;
  const double c = 1 / (std::sqrt(1 + (as * au) * (as * au)) + std::sqrt(1 + (at * au) * (at * au)));
  ssmin = 2 * ((fhmn * c) * au);
  ssmax = ga / (c + c);
}

// Householder QR of the column-major panel P (rows x cols, ld), in place: k = min(rows, cols) reflectors,
// R on and above the diagonal, v below it (unit diagonal implied), tau (k). Level 2 within the panel.
template <class T>
void panelQR(idx rows, idx cols, T* P, idx ld, T* tau) {
  const idx k = std::min(rows, cols);
  for (idx c = 0; c < k; ++c) {
    T* col = P + c + c * ld;
    tau[c] = larfg(rows - c, col[0], col + 1, 1);
    if (tau[c] == T(0)) continue;
    const T beta = col[0];
    col[0] = 1;
    for (idx cc = c + 1; cc < cols; ++cc) {
      T* x = P + c + cc * ld;
      const T t = -tau[c] * dot(rows - c, col, x);
      axpy(rows - c, t, col, x);
    }
    col[0] = beta;
  }
}

// The explicit column-major V (rows x k, ld rows: unit diagonal, zeros above) of panelQR's reflectors.
template <class T>
void explicitV(idx rows, idx k, const T* P, idx ld, T* V) {
  for (idx c = 0; c < k; ++c)
    for (idx r = 0; r < rows; ++r) V[r + c * rows] = r < c ? T(0) : r == c ? T(1) : P[r + c * ld];
}

// Stage 1 of the two-stage reduction: the column-major X (M x N, ld, M >= N) is reduced in place by
// orthogonal transformations from both sides to upper band form with b superdiagonals (entries (i, j),
// i <= j <= i + b, of its top N x N; everything else zero). Alternating panels: QR of the next b
// columns, their block reflector applied to the trailing columns, then LQ (as the QR of the transpose)
// of the b rows right of the band, applied to the trailing rows from the right. Every update is a
// level-3 block-reflector product (gemm), unlike the one-stage bidiagonalization whose half is gemv.
template <class T>
void bandReduce(idx M, idx N, T* X, idx ld, idx b, int threads) {
  Buf<T> tau(b), V(M * b), Tm(b * b), W(N * b), work(2 * b * std::max(M, N) + b * b);
  for (idx j0 = 0; j0 < N; j0 += b) {
    const idx jb = std::min(b, N - j0), mr = M - j0, nr = N - j0 - jb;
    // QR of the column panel X[j0:M, j0:j0+jb], applied to X[j0:M, j0+jb:N].
    T* P = X + j0 + j0 * ld;
    panelQR(mr, jb, P, ld, tau.data());
    const idx kq = std::min(mr, jb);
    if (nr > 0) {
      explicitV(mr, kq, P, ld, V.data());
      larft(mr, kq, V.data(), mr, tau.data(), Tm.data(), b, work.data(), threads);
      larfbLeft(true, false, mr, nr, kq, V.data(), mr, Tm.data(), b, P + jb * ld, ld, work.data(), threads);
    }
    for (idx c = 0; c < jb; ++c)
      for (idx r = c + 1; r < mr; ++r) P[r + c * ld] = 0;
    if (nr <= 0) break;
    // LQ of the row block B = X[j0:j0+jb, j0+jb:N] (jb x nr): QR of W = B^T (nr x jb), B = R'^T Q^T.
    T* Bp = X + j0 + (j0 + jb) * ld;
    for (idx p = 0; p < nr; ++p)  // column p of B: jb contiguous entries
      for (idx q = 0; q < jb; ++q) W[p + q * nr] = Bp[q + p * ld];
    panelQR(nr, jb, W.data(), nr, tau.data());
    const idx kl = std::min(nr, jb);
    for (idx p = 0; p < nr; ++p)
      for (idx q = 0; q < jb; ++q) Bp[q + p * ld] = p <= q ? W[p + q * nr] : T(0);
    // Trailing rows X[j0+jb:M, j0+jb:N] := C Q, i.e. the row-major C^T (nr x mc, ld) := Q^T C^T.
    const idx mc = M - j0 - jb;
    if (mc > 0) {
      explicitV(nr, kl, W.data(), nr, V.data());
      larft(nr, kl, V.data(), nr, tau.data(), Tm.data(), b, work.data(), threads);
      larfbLeft(true, true, nr, mc, kl, V.data(), nr, Tm.data(), b, Bp + jb, ld, work.data(), threads);
    }
  }
}

// Stage 2: the upper band matrix (b superdiagonals) in the top N x N of the column-major X (ld) to upper
// bidiagonal form (d, e) by Givens rotations, one superdiagonal at a time (Schwarz's bulge chasing):
// a(i, i+k) is zeroed by a rotation of columns (i+k-1, i+k), whose fill below the diagonal is zeroed by a
// rotation of rows, whose fill outside the band is chased down the same way. O(N^2 b) work, on a compact
// copy of the band (column j's rows j-b-1 .. j+1 contiguous: the band stays in cache, rows are short
// strides) rather than on X.
template <class T>
void bandToBidiag(idx N, const T* X, idx ld, idx b, double* d, double* e) {
  using R = double;  // the chase runs in f64 for both element types (the band is small)
  const idx ldb = b + 3;
  std::vector<R> B(static_cast<size_t>(ldb * N), R(0));
  R* Bp = B.data();
  // a(i, j) for j - b - 1 <= i <= j + 1.
  auto at = [Bp, b, ldb](idx i, idx j) -> R* { return Bp + (i - j + b + 1) + j * ldb; };
  for (idx j = 0; j < N; ++j)
    for (idx i = std::max<idx>(0, j - b); i <= j; ++i) *at(i, j) = static_cast<R>(X[i + j * ld]);
  for (idx k = std::min(b, N - 1); k >= 2; --k) {
    for (idx i = 0; i + k < N; ++i) {
      idx row = i, j = i + k;
      while (j < N) {
        if (*at(row, j) == R(0)) break;
        R c, s, r;
        // Columns (j-1, j), rows row..j: zeroes a(row, j); fill at a(j, j-1).
        lartg(*at(row, j - 1), *at(row, j), c, s, r);
        *at(row, j - 1) = r;
        *at(row, j) = 0;
        R* x = at(row + 1, j - 1);
        R* y = at(row + 1, j);
        for (idx t = 0, cnt = j - row; t < cnt; ++t) {
          const R xt = x[t], yt = y[t];
          x[t] = c * xt + s * yt;
          y[t] = c * yt - s * xt;
        }
        // Rows (j-1, j), columns j-1..min(N-1, j+k): zeroes a(j, j-1); fill at a(j-1, j+k).
        lartg(*at(j - 1, j - 1), *at(j, j - 1), c, s, r);
        *at(j - 1, j - 1) = r;
        *at(j, j - 1) = 0;
        const idx tend = std::min(N - 1, j + k);
        R* xr = at(j - 1, j);  // a(j-1, t) = xr[(t - j) * (ldb - 1)]
        R* yr = at(j, j);
        for (idx t = 0, cnt = tend - j + 1, st = ldb - 1; t < cnt; ++t) {
          const R xv = xr[t * st], yv = yr[t * st];
          xr[t * st] = c * xv + s * yv;
          yr[t * st] = c * yv - s * xv;
        }
        row = j - 1;
        j += k;
      }
    }
  }
  for (idx i = 0; i < N; ++i) d[i] = *at(i, i);
  for (idx i = 0; i + 1 < N; ++i) e[i] = *at(i, i + 1);
}

// Bidiagonal (d, e) of the column-major X (M x N, ld, M >= N; destroyed), no reflectors kept: two-stage
// (band, then bulge chasing) from kTwoStageMin columns, the one-stage gebrd below. Measured on 2 cores:
// about even at N = 1024, two-stage 1.3-1.8x faster at 2048 and 2-2.5x at 4096 (gebrd's gemv halves are
// memory-bound), slower below ~800.
constexpr idx kTwoStageMin = 1024;
constexpr idx kBand = 32;

template <class T>
void bidiagonalize(idx M, idx N, T* X, idx ld, double* d, double* e, int threads) {
  if (N >= kTwoStageMin) {
    bidiagonalTwoStage(M, N, X, ld, kBand, d, e, threads);
  } else {
    Buf<T> dt(N), et(N), tq(N), tp(N);
    gebrd(M, N, X, ld, dt.data(), et.data(), tq.data(), tp.data(), threads);
    for (idx i = 0; i < N; ++i) d[i] = static_cast<double>(dt[i]);
    for (idx i = 0; i + 1 < N; ++i) e[i] = static_cast<double>(et[i]);
  }
}

}  // namespace

template <class T>
void bidiagonalTwoStage(idx M, idx N, T* X, idx ld, idx b, double* d, double* e, int threads) {
  if (N <= 0) return;
  b = std::max<idx>(1, std::min(b, N));
  bandReduce(M, N, X, ld, b, threads);
  bandToBidiag(N, X, ld, b, d, e);
}

template void bidiagonalTwoStage<float>(idx, idx, float*, idx, idx, double*, double*, int);
template void bidiagonalTwoStage<double>(idx, idx, double*, idx, idx, double*, double*, int);

bool bdsqrValues(idx n, double* d, double* e) {
  if (n <= 0) return true;
  const double eps = std::numeric_limits<double>::epsilon() / 2;  // unit roundoff
  const double unfl = std::numeric_limits<double>::min();
  const double tol = std::max(10.0, std::min(100.0, std::pow(eps, -0.125))) * eps;
  const idx maxitr = 6;
  if (n > 1) {
    // Threshold for negligible superdiagonals: relative to an estimate of the smallest singular value.
    double mu = std::abs(d[0]), sminoa = mu;
    for (idx i = 1; i < n && sminoa > 0; ++i) {
      mu = std::abs(d[i]) * (mu / (mu + std::abs(e[i - 1])));
      sminoa = std::min(sminoa, mu);
    }
    sminoa /= std::sqrt(static_cast<double>(n));
    const double dn = static_cast<double>(n);
    const double thresh = std::max(tol * sminoa, static_cast<double>(maxitr) * dn * dn * unfl);
    const double maxit = static_cast<double>(maxitr) * dn * dn;
    double iter = 0;
    idx m = n - 1;  // last row of the active part
    idx oldll = -1, oldm = -1;
    int idir = 0;
    while (m > 0) {
      if (iter > maxit) return false;
      // The unreduced block [ll, m] at the bottom of the active part.
      double smax = std::abs(d[m]);
      idx ll = 0;
      for (idx i = m - 1; i >= 0; --i) {
        const double abse = std::abs(e[i]);
        if (abse <= thresh) {
          e[i] = 0;
          ll = i + 1;
          break;
        }
        smax = std::max(smax, std::max(std::abs(d[i]), abse));
      }
      if (ll == m) {  // 1 x 1 block: converged
        --m;
        continue;
      }
      if (ll == m - 1) {  // 2 x 2 block: directly
        double smin2, smax2;
        las2(d[m - 1], e[m - 1], d[m], smin2, smax2);
        d[m - 1] = smax2;
        d[m] = smin2;
        e[m - 1] = 0;
        m -= 2;
        continue;
      }
      // A new block: chase the bulge from the larger end toward the smaller one.
      if (ll > oldm || m < oldll) idir = std::abs(d[ll]) >= std::abs(d[m]) ? 1 : 2;
      // Relative convergence tests (mu: the recurrence estimating the smallest singular value).
      double sminl = 0;
      bool split = false;
      if (idir == 1) {
        if (std::abs(e[m - 1]) <= tol * std::abs(d[m])) {
          e[m - 1] = 0;
          continue;
        }
        double mu2 = std::abs(d[ll]);
        sminl = mu2;
        for (idx i = ll; i < m; ++i) {
          if (std::abs(e[i]) <= tol * mu2) {
            e[i] = 0;
            split = true;
            break;
          }
          mu2 = std::abs(d[i + 1]) * (mu2 / (mu2 + std::abs(e[i])));
          sminl = std::min(sminl, mu2);
        }
      } else {
        if (std::abs(e[ll]) <= tol * std::abs(d[ll])) {
          e[ll] = 0;
          continue;
        }
        double mu2 = std::abs(d[m]);
        sminl = mu2;
        for (idx i = m - 1; i >= ll; --i) {
          if (std::abs(e[i]) <= tol * mu2) {
            e[i] = 0;
            split = true;
            break;
          }
          mu2 = std::abs(d[i]) * (mu2 / (mu2 + std::abs(e[i])));
          sminl = std::min(sminl, mu2);
        }
      }
      if (split) continue;
      oldll = ll;
      oldm = m;
      // Shift: zero when it would spoil relative accuracy (or be negligible), else the smaller singular
      // value of the trailing (idir 1) or leading (idir 2) 2 x 2 block.
      double shift = 0;
      if (!(dn * tol * (sminl / smax) <= std::max(eps, 0.01 * tol))) {
        double sll, r;
        if (idir == 1) {
          sll = std::abs(d[ll]);
          las2(d[m - 1], e[m - 1], d[m], shift, r);
        } else {
          sll = std::abs(d[m]);
          las2(d[ll], e[ll], d[ll + 1], shift, r);
        }
        if (sll > 0 && (shift / sll) * (shift / sll) < eps) shift = 0;
      }
      iter += static_cast<double>(m - ll);
      double cs, sn, r, oldcs, oldsn;
      if (shift == 0) {
        // Demmel-Kahan zero-shift QR sweep (every entry computed to high relative accuracy).
        if (idir == 1) {
          cs = 1;
          oldcs = 1;
          oldsn = 0;
          for (idx i = ll; i < m; ++i) {
            lartg(d[i] * cs, e[i], cs, sn, r);
            if (i > ll) e[i - 1] = oldsn * r;
            lartg(oldcs * r, d[i + 1] * sn, oldcs, oldsn, d[i]);
          }
          const double h = d[m] * cs;
          d[m] = h * oldcs;
          e[m - 1] = h * oldsn;
          if (std::abs(e[m - 1]) <= thresh) e[m - 1] = 0;
        } else {
          cs = 1;
          oldcs = 1;
          oldsn = 0;
          for (idx i = m; i > ll; --i) {
            lartg(d[i] * cs, e[i - 1], cs, sn, r);
            if (i < m) e[i] = oldsn * r;
            lartg(oldcs * r, d[i - 1] * sn, oldcs, oldsn, d[i]);
          }
          const double h = d[ll] * cs;
          d[ll] = h * oldcs;
          e[ll] = h * oldsn;
          if (std::abs(e[ll]) <= thresh) e[ll] = 0;
        }
      } else {
        // Shifted implicit QR sweep.
        double cosr, sinr, cosl, sinl;
        if (idir == 1) {
          double f = (std::abs(d[ll]) - shift) * (std::copysign(1.0, d[ll]) + shift / d[ll]);
          double g = e[ll];
          for (idx i = ll; i < m; ++i) {
            lartg(f, g, cosr, sinr, r);
            if (i > ll) e[i - 1] = r;
            f = cosr * d[i] + sinr * e[i];
            e[i] = cosr * e[i] - sinr * d[i];
            g = sinr * d[i + 1];
            d[i + 1] = cosr * d[i + 1];
            lartg(f, g, cosl, sinl, r);
            d[i] = r;
            f = cosl * e[i] + sinl * d[i + 1];
            d[i + 1] = cosl * d[i + 1] - sinl * e[i];
            if (i < m - 1) {
              g = sinl * e[i + 1];
              e[i + 1] = cosl * e[i + 1];
            }
          }
          e[m - 1] = f;
          if (std::abs(e[m - 1]) <= thresh) e[m - 1] = 0;
        } else {
          double f = (std::abs(d[m]) - shift) * (std::copysign(1.0, d[m]) + shift / d[m]);
          double g = e[m - 1];
          for (idx i = m; i > ll; --i) {
            lartg(f, g, cosr, sinr, r);
            if (i < m) e[i] = r;
            f = cosr * d[i] + sinr * e[i - 1];
            e[i - 1] = cosr * e[i - 1] - sinr * d[i];
            g = sinr * d[i - 1];
            d[i - 1] = cosr * d[i - 1];
            lartg(f, g, cosl, sinl, r);
            d[i] = r;
            f = cosl * e[i - 1] + sinl * d[i - 1];
            d[i - 1] = cosl * d[i - 1] - sinl * e[i - 1];
            if (i > ll + 1) {
              g = sinl * e[i - 2];
              e[i - 2] = cosl * e[i - 2];
            }
          }
          e[ll] = f;
          if (std::abs(e[ll]) <= thresh) e[ll] = 0;
        }
      }
    }
  }
  for (idx i = 0; i < n; ++i) d[i] = std::abs(d[i]);
  std::sort(d, d + n, [](double a, double b) { return a > b; });
  return true;
}

template <class T>
int gesvdvals(idx m, idx n, const T* A, idx lda, double* S, int threads) {
  const idx k = std::min(m, n);
  if (k <= 0) return 0;
  for (idx i = 0; i < m; ++i)
    if (!allFinite(n, A + i * lda)) return 1;
  T amax = 0;
  for (idx i = 0; i < m; ++i)
    for (idx j = 0; j < n; ++j) amax = std::max(amax, std::abs(A[i * lda + j]));
  const T sigma = safeScale(amax);  // huge or tiny inputs are scaled into the safe range, S scaled back
  // X = A (m >= n) or A^T (m < n), M x N with M >= N.
  const bool wide = m < n;
  const idx M = wide ? n : m, N = k;
  std::vector<double> dd(static_cast<size_t>(N)), ee(static_cast<size_t>(N));
  if (6 * M >= 11 * N && N >= 8) {
    // QR of the row-major X, then bidiagonalize R (column-major copy).
    Buf<T> Xr(M * N), R(N * N);
    if (wide)
      transposeCopy(m, n, A, lda, Xr.data(), N, threads);
    else
      copyMat(M, N, A, lda, Xr.data(), N);
    for (idx i = 0; i < M * N; ++i) Xr[i] *= sigma;
    QRFactors<T> f;
    geqrf(M, N, Xr.data(), N, R.data(), N, f, threads);
    Xr.p.reset();  // scratch of geqrf (the reflectors are kept in f)
    Buf<T> Rc(N * N);
    transposeCopy(N, N, R.data(), N, Rc.data(), N, threads);
    bidiagonalize(N, N, Rc.data(), N, dd.data(), ee.data(), threads);
  } else {
    // Column-major X: the row-major A^T (m >= n) or A itself (m < n).
    Buf<T> Xc(M * N);
    if (wide)
      copyMat(m, n, A, lda, Xc.data(), n);
    else
      transposeCopy(m, n, A, lda, Xc.data(), m, threads);
    if (sigma != T(1))
      for (idx i = 0; i < M * N; ++i) Xc[i] *= sigma;
    bidiagonalize(M, N, Xc.data(), M, dd.data(), ee.data(), threads);
  }
  if (!bdsqrValues(N, dd.data(), ee.data())) return 2;
  for (idx i = 0; i < N; ++i) S[i] = dd[i] / static_cast<double>(sigma);
  return 0;
}

template int gesvdvals<float>(idx, idx, const float*, idx, double*, int);
template int gesvdvals<double>(idx, idx, const double*, idx, double*, int);

}  // namespace la
}  // namespace lr
