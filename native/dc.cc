// Divide and conquer for the symmetric tridiagonal eigenproblem and the bidiagonal SVD.
//
// Both split the problem by removing one coupling (a rank-one tear for the tridiagonal T, a row for the
// bidiagonal B), solve the halves recursively down to 1 x 1 / 1 x 2 leaves, and merge through the
// secular equation of a diagonal-plus-rank-one matrix:
//   tridiagonal: D + rho z z^T, roots of 1/rho + sum z_j^2 / (d_j - lambda);
//   bidiagonal:  M = e_0 z^T + diag(d) (d_0 = 0), sigma^2 are the roots of 1 + sum z_j^2 / (d_j^2 - s).
// Deflation (tiny z_j, nearly equal poles) follows Cuppen / Dongarra-Sorensen; the vectors use the
// Gu-Eisenstat recomputed z so they are orthogonal to working precision; the merged vectors are two
// gemm calls that skip the zero blocks of the halves. Each root is found relative to its nearer pole
// (the differences d_j - d_origin are formed before subtracting the root's offset), which keeps the
// distances to the poles, and therefore the vectors, accurate.
#include "blas2.h"
#include "lapack.h"

namespace lr {
namespace la {
namespace {

// ---- secular equation -------------------------------------------------------------------------------

// Root i (0-based) of f(lambda) = 1/rho + sum_j w_j / (p_j - lambda), p strictly ascending, w > 0,
// rho > 0. dif(a, b) = p_a - p_b computed accurately. On return lambda = p_origin + tau and
// delta[j] = p_j - lambda for all j. base: K scratch.
template <class T, class Dif>
void secularRoot(idx K, idx i, const T* w, T rho, const Dif& dif, T* base, T* delta, idx& origin, T& tauOut) {
  const B2Kernels<T>& kk = b2k<T>();
  const T eps = epsilon<T>();
  const T rhoinv = T(1) / rho;
  if (K == 1) {
    origin = 0;
    tauOut = rho * w[0];
    delta[0] = -tauOut;
    return;
  }
  idx o;
  T lo, hi;
  T sums[2];
  if (i < K - 1) {
    for (idx j = 0; j < K; ++j) base[j] = dif(j, i);
    base[i] = 0;
    T mid = base[i + 1] / 2;
    kk.secular(K, base, w, mid, sums);
    if (rhoinv + sums[0] >= T(0)) {
      o = i;
      lo = 0;
      hi = mid;
    } else {
      o = i + 1;
      lo = -mid;
      hi = 0;
      for (idx j = 0; j < K; ++j) base[j] = dif(j, o);
    }
  } else {
    o = K - 1;
    T W = 0;
    for (idx j = 0; j < K; ++j) W += w[j];
    lo = 0;
    hi = rho * W;
    for (idx j = 0; j < K; ++j) base[j] = dif(j, o);
  }
  base[o] = 0;
  T tau = (lo + hi) / 2;
  if (i < K - 1) {
    // Initial guess: the two nearest poles exact, every other term frozen at the midpoint value.
    T mid = (o == i) ? hi : -lo;  // half gap
    T gap = 2 * mid;
    T wi = w[i], wn = w[i + 1];
    T c = rhoinv + sums[0] + wi / mid - wn / mid;
    T x;  // offset from p_i, root of c x^2 - (c gap + wi + wn) x + wi gap = 0 in (0, gap)
    T b = c * gap + wi + wn;
    if (c == T(0)) {
      x = wi * gap / (wi + wn);
    } else {
      T disc = b * b - T(4) * c * wi * gap;
      disc = disc > T(0) ? std::sqrt(disc) : T(0);
      x = b >= T(0) ? T(2) * wi * gap / (b + disc) : (b - disc) / (T(2) * c);
    }
    T t0 = o == i ? x : x - gap;
    if (t0 > lo && t0 < hi) tau = t0;
  }
  for (int it = 0; it < 300; ++it) {
    kk.secular(i + 1, base, w, tau, sums);
    T psi = sums[0], dpsi = sums[1];
    T phi = 0, dphi = 0;
    if (i + 1 < K) {
      kk.secular(K - i - 1, base + i + 1, w + i + 1, tau, sums);
      phi = sums[0];
      dphi = sums[1];
    }
    T f = rhoinv + psi + phi;
    T err = eps * (T(8) * (rhoinv + phi - psi) + T(3) * std::abs(tau) * (dpsi + dphi));
    if (std::abs(f) <= err) break;
    if (f > T(0))
      hi = tau;
    else
      lo = tau;
    if (hi - lo <= T(2) * eps * std::max(std::abs(lo), std::abs(hi))) break;
    // Rational model: psi ~ A + B / (Di - eta), phi ~ C + D / (Di1 - eta), matched in value and slope.
    T Di = base[i] - tau;
    T nt = tau;
    bool ok = false;
    if (i < K - 1) {
      T Di1 = base[i + 1] - tau;
      T B = dpsi * Di * Di, D = dphi * Di1 * Di1;
      T a = rhoinv + (psi - dpsi * Di) + (phi - dphi * Di1);
      T qb = a * (Di + Di1) + B + D;
      T qc = a * Di * Di1 + B * Di1 + D * Di;
      T eta = 0;
      if (a == T(0)) {
        if (qb != T(0)) {
          eta = qc / qb;
          ok = true;
        }
      } else {
        T disc = qb * qb - T(4) * a * qc;
        disc = disc > T(0) ? std::sqrt(disc) : T(0);
        T r1, r2;
        if (qb >= T(0)) {
          r1 = (qb + disc) / (T(2) * a);
          r2 = (qb + disc) != T(0) ? T(2) * qc / (qb + disc) : T(0);
        } else {
          r1 = T(2) * qc / (qb - disc);
          r2 = (qb - disc) / (T(2) * a);
        }
        if (r1 > Di && r1 < Di1) {
          eta = r1;
          ok = true;
        } else if (r2 > Di && r2 < Di1) {
          eta = r2;
          ok = true;
        }
      }
      if (ok) nt = tau + eta;
    } else {
      T B = dpsi * Di * Di;
      T a = rhoinv + psi - dpsi * Di;
      if (a > T(0)) {
        nt = tau + Di + B / a;
        ok = true;
      }
    }
    if (!ok || !(nt > lo && nt < hi)) nt = lo + (hi - lo) / 2;
    if (nt == tau) break;
    tau = nt;
  }
  for (idx j = 0; j < K; ++j) delta[j] = base[j] - tau;
  delta[o] = -tau;
  origin = o;
  tauOut = tau;
}

// Solves all K roots (in parallel), fills Dl (K x K column-major, column j = p - lambda_j), origin
// and tau per root.
template <class T, class Dif>
void secularAll(idx K, const T* w, T rho, const Dif& dif, T* Dl, idx* origin, T* tau, int threads) {
  idx chunks = std::min<idx>(K, threads > 1 && K >= 32 ? 8 * threads : 1);
  parallelFor(threads > 1 && K >= 32 ? threads : 1, chunks, [&](int64_t c, int) {
    std::vector<T> base(static_cast<size_t>(K));
    idx j0 = K * c / chunks, j1 = K * (c + 1) / chunks;
    for (idx j = j0; j < j1; ++j) secularRoot(K, j, w, rho, dif, base.data(), Dl + j * K, origin[j], tau[j]);
  });
}

// Gu-Eisenstat: zhat_i^2 (times rho) = prod_j (lambda_j - p_i) / prod_{j != i} (p_j - p_i), with the
// products paired so every factor lies in (0, 1]-ish. Sign from z.
template <class T, class Dif>
void recomputeZ(idx K, const T* Dl, const Dif& dif, const T* zsign, T* zhat) {
  for (idx i = 0; i < K; ++i) zhat[i] = -Dl[i + (K - 1) * K];
  for (idx j = 0; j + 1 < K; ++j) {
    const T* col = Dl + j * K;
    for (idx i = 0; i < K; ++i) {
      if (j < i)
        zhat[i] *= col[i] / dif(i, j);
      else
        zhat[i] *= col[i] / dif(i, j + 1);
    }
  }
  for (idx i = 0; i < K; ++i) zhat[i] = std::copysign(std::sqrt(std::max(zhat[i], T(0))), zsign[i]);
}

template <class T>
inline void rot(idx n, T* x, T* y, T c, T s) {
  for (idx i = 0; i < n; ++i) {
    T a = x[i], b = y[i];
    x[i] = c * a + s * b;
    y[i] = c * b - s * a;
  }
}

// Out (rows of two bands) = sum over source columns of Q[:, cols[i]] * Coef[i, :], where each source is
// nonzero only in the bands flagged by type[i] (bit 1: rows [t0, t0 + tn), bit 2: rows [b0, b0 + bn);
// row offsets relative to both Q + r0 and Out). Rows outside the bands are not written.
template <class T>
void combineColumns(const T* Q, idx ldq, idx r0, idx t0, idx tn, idx b0, idx bn, const idx* cols, const uint8_t* type,
                    idx K, const T* Coef, idx ldc, T* Out, idx ldo, int threads) {
  for (int part = 0; part < 2; ++part) {
    idx p0 = part == 0 ? t0 : b0, pn = part == 0 ? tn : bn;
    uint8_t bit = part == 0 ? 1 : 2;
    if (pn <= 0) continue;
    std::vector<idx> sel;
    for (idx i = 0; i < K; ++i)
      if (type[i] & bit) sel.push_back(i);
    idx s = static_cast<idx>(sel.size());
    if (s == 0) {
      for (idx j = 0; j < K; ++j) std::fill(Out + p0 + j * ldo, Out + p0 + pn + j * ldo, T(0));
      continue;
    }
    Buf<T> G(pn * s), C(s * K);
    for (idx q = 0; q < s; ++q) std::memcpy(G.data() + q * pn, Q + r0 + p0 + cols[sel[q]] * ldq, sizeof(T) * pn);
    for (idx j = 0; j < K; ++j)
      for (idx q = 0; q < s; ++q) C[q + j * s] = Coef[sel[q] + j * ldc];
    gemmCM(false, false, pn, K, s, T(1), G.data(), pn, C.data(), s, T(0), Out + p0, ldo, threads);
  }
}

// Runs a(...) and b(...) concurrently when worthwhile (each with one thread), else in sequence.
template <class A, class B>
void twoWay(bool par, A&& a, B&& b) {
  if (par) {
    parallelFor(2, 2, [&](int64_t t, int) {
      if (t == 0)
        a(1);
      else
        b(1);
    });
  } else {
    a(0);
    b(0);
  }
}

// ---- tridiagonal ----------------------------------------------------------------------------------------

template <class T>
struct TridiagDC {
  T* d;
  T* e;
  T* Q;
  idx ldq;

  void solve(idx lo, idx n, int threads) {
    if (n == 1) {
      Q[lo + lo * ldq] = 1;
      return;
    }
    idx n1 = n / 2, n2 = n - n1;
    T rho = e[lo + n1 - 1];
    d[lo + n1 - 1] -= std::abs(rho);
    d[lo + n1] -= std::abs(rho);
    bool par = threads > 1 && n >= 96;
    twoWay(
        par, [&](int p) { solve(lo, n1, p ? 1 : threads); }, [&](int p) { solve(lo + n1, n2, p ? 1 : threads); });
    merge(lo, n1, n2, rho, threads);
  }

  void merge(idx lo, idx n1, idx n2, T rhoSigned, int threads) {
    const idx n = n1 + n2;
    const T eps = epsilon<T>();
    T* D = d + lo;
    T* Qb = Q + lo + lo * ldq;  // block (n x n), ld ldq
    // Scale the merged problem to max 1 by a power of two (exact; as BidiagDC::merge and LAPACK's
    // dlaed0/dlasd1). stedc normalizes by the global norm only, and the tridiagonal of a Gram matrix with
    // a large null space (e.g. MNIST pixels that are zero in every row) ends in a block of roundoff whose
    // entries shrink to ~1e-38 after that normalization (subnormal in f32): the secular equation then
    // divides by squares of pole distances (w / delta^2 overflows to Inf, 0 * Inf = NaN) and every root
    // and vector of the block, and of each merge above it, comes out NaN.
    T orgnrm = std::abs(rhoSigned);
    for (idx c = 0; c < n; ++c) orgnrm = std::max(orgnrm, std::abs(D[c]));
    int ex = 0;  // orgnrm / 2^ex in [0.5, 1); ldexp, since 2^-ex can overflow for subnormal orgnrm
    if (orgnrm > T(0)) {
      ex = std::ilogb(orgnrm) + 1;
      rhoSigned = std::ldexp(rhoSigned, -ex);
      for (idx c = 0; c < n; ++c) D[c] = std::ldexp(D[c], -ex);
    }
    std::vector<T> z(n);
    const T sg = rhoSigned < T(0) ? T(-1) : T(1);
    const T r2 = T(1) / std::sqrt(T(2));
    for (idx c = 0; c < n1; ++c) z[c] = Qb[(n1 - 1) + c * ldq] * r2;
    for (idx c = n1; c < n; ++c) z[c] = sg * Qb[n1 + c * ldq] * r2;
    const T rho = std::abs(rhoSigned) * T(2);
    std::vector<idx> ord(n);
    for (idx c = 0; c < n; ++c) ord[c] = c;
    std::stable_sort(ord.begin(), ord.end(), [&](idx a, idx b) { return D[a] < D[b]; });
    T dmax = 0;
    for (idx c = 0; c < n; ++c) dmax = std::max(dmax, std::abs(D[c]));
    const T tol = T(8) * eps * std::max(dmax, rho);
    std::vector<uint8_t> type(n), defl(n, 0);
    for (idx c = 0; c < n; ++c) type[c] = c < n1 ? 1 : 2;
    idx prev = -1;
    for (idx t = 0; t < n; ++t) {
      idx c = ord[t];
      if (rho * std::abs(z[c]) <= tol) {
        defl[c] = 1;
        continue;
      }
      if (prev >= 0) {
        T s = z[prev], cc = z[c];
        T tau = lapy2(cc, s);
        T tt = D[c] - D[prev];
        cc /= tau;
        s = -s / tau;
        if (std::abs(tt * cc * s) <= tol) {
          rot(n, Qb + prev * ldq, Qb + c * ldq, cc, s);
          z[c] = tau;
          z[prev] = 0;
          T dp = D[prev] * cc * cc + D[c] * s * s;
          D[c] = D[prev] * s * s + D[c] * cc * cc;
          D[prev] = dp;
          type[c] = type[prev] = static_cast<uint8_t>(type[c] | type[prev]);
          defl[prev] = 1;
        }
      }
      prev = c;
    }
    std::vector<idx> J;
    for (idx t = 0; t < n; ++t)
      if (!defl[ord[t]]) J.push_back(ord[t]);
    const idx K = static_cast<idx>(J.size());
    // Final values and sources: non-deflated from Out (n x K), deflated from the old block.
    Buf<T> Out(n * std::max<idx>(K, 1));
    std::vector<T> lam(K);
    if (K > 0) {
      std::vector<T> w(K), zs(K), zh(K), tau(K);
      std::vector<idx> org(K);
      for (idx i = 0; i < K; ++i) {
        w[i] = z[J[i]] * z[J[i]];
        zs[i] = z[J[i]];
      }
      std::vector<T> pv(K);
      for (idx i = 0; i < K; ++i) pv[i] = D[J[i]];
      auto dif = [&](idx a, idx b) { return pv[a] - pv[b]; };
      Buf<T> Dl(K * K);
      secularAll(K, w.data(), rho, dif, Dl.data(), org.data(), tau.data(), threads);
      for (idx j = 0; j < K; ++j) lam[j] = pv[org[j]] + tau[j];
      recomputeZ(K, Dl.data(), dif, zs.data(), zh.data());
      // Eigenvectors of D + rho zhat zhat^T: column j = zhat ./ (p - lambda_j), normalized.
      parallelRanges(K >= 64 ? threads : 1, K, 16, [&](idx j0, idx j1, int) {
        for (idx j = j0; j < j1; ++j) {
          T* col = Dl.data() + j * K;
          for (idx i = 0; i < K; ++i) col[i] = zh[i] / col[i];
          T nrm = nrm2(K, col, 1);
          for (idx i = 0; i < K; ++i) col[i] /= nrm;
        }
      });
      std::vector<uint8_t> jt(K);
      for (idx i = 0; i < K; ++i) jt[i] = type[J[i]];
      combineColumns(Qb, ldq, 0, 0, n1, n1, n2, J.data(), jt.data(), K, Dl.data(), K, Out.data(), n, threads);
    }
    // Merge the two ascending lists (roots, deflated values) into the block.
    std::vector<std::pair<T, idx>> all;  // idx >= 0: Out column; < 0: -(c + 1), deflated block column c
    all.reserve(n);
    for (idx j = 0; j < K; ++j) all.emplace_back(lam[j], j);
    for (idx c = 0; c < n; ++c)
      if (defl[c]) all.emplace_back(D[c], -(c + 1));
    std::stable_sort(all.begin(), all.end(),
                     [](const std::pair<T, idx>& a, const std::pair<T, idx>& b) { return a.first < b.first; });
    Buf<T> Fin(n * n);
    for (idx f = 0; f < n; ++f) {
      idx s = all[f].second;
      const T* src = s >= 0 ? Out.data() + s * n : Qb + (-s - 1) * ldq;
      std::memcpy(Fin.data() + f * n, src, sizeof(T) * n);
    }
    for (idx f = 0; f < n; ++f) {
      std::memcpy(Qb + f * ldq, Fin.data() + f * n, sizeof(T) * n);
      D[f] = std::ldexp(all[f].first, ex);
    }
  }
};

// ---- bidiagonal -------------------------------------------------------------------------------------------

// B is n x (n + sq), upper bidiagonal: B(i, i) = d_i, B(i, i + 1) = e_i (e has n - 1 + sq entries).
// The block of the subproblem starting at lo: U rows/cols [lo, lo + n), V rows/cols [lo, lo + n + sq).
// On return d[lo..lo+n) holds ascending singular values, U/V the vectors; with sq = 1, V's last block
// column is the null vector.
template <class T>
struct BidiagDC {
  T* d;
  T* e;
  T* U;
  idx ldu;
  T* V;
  idx ldv;

  void solve(idx lo, idx n, int sq, int threads) {
    if (n == 0) {
      V[lo + lo * ldv] = 1;
      return;
    }
    if (n == 1) {
      T d0 = d[lo];
      if (!sq) {
        d[lo] = std::abs(d0);
        U[lo + lo * ldu] = d0 < T(0) ? T(-1) : T(1);
        V[lo + lo * ldv] = 1;
      } else {
        T e0 = e[lo];
        // Scale by a power of two first: with subnormal d0, e0 the rounded norm would make the
        // rotation below non-orthogonal (tiny trailing entries of rank-deficient inputs in f32).
        int ex = 0;
        T big = std::max(std::abs(d0), std::abs(e0));
        if (big > T(0)) {
          ex = std::ilogb(big) + 1;
          d0 = std::ldexp(d0, -ex);
          e0 = std::ldexp(e0, -ex);
        }
        T s = lapy2(d0, e0);
        U[lo + lo * ldu] = 1;
        if (s == T(0)) {
          V[lo + lo * ldv] = 1;
          V[(lo + 1) + (lo + 1) * ldv] = 1;
          V[(lo + 1) + lo * ldv] = 0;
          V[lo + (lo + 1) * ldv] = 0;
        } else {
          V[lo + lo * ldv] = d0 / s;
          V[(lo + 1) + lo * ldv] = e0 / s;
          V[lo + (lo + 1) * ldv] = -e0 / s;
          V[(lo + 1) + (lo + 1) * ldv] = d0 / s;
        }
        d[lo] = std::ldexp(s, ex);
      }
      return;
    }
    idx k = n / 2;
    T alpha = d[lo + k];
    bool hasB2 = (n - k - 1 + sq) > 0;
    T beta = hasB2 ? e[lo + k] : T(0);
    bool par = threads > 1 && n >= 96 && hasB2;
    twoWay(
        par, [&](int p) { solve(lo, k, 1, p ? 1 : threads); },
        [&](int p) {
          if (hasB2) solve(lo + k + 1, n - k - 1, sq, p ? 1 : threads);
        });
    merge(lo, n, sq, k, alpha, beta, threads);
  }

  void merge(idx lo, idx n, int sq, idx k, T alpha, T beta, int threads) {
    const T eps = epsilon<T>();
    const idx nv = n + sq;
    // Scale the merged problem to max 1 by a power of two (exact; LAPACK's dlasd1 scales likewise): the
    // secular equation works with squares, which underflow in f32 for a block whose values are all
    // below ~1e-19 (tiny trailing blocks of rank-deficient inputs), giving NaN roots and vectors.
    T orgnrm = std::max(std::abs(alpha), std::abs(beta));
    for (idx c = 0; c < n; ++c)
      if (c != k) orgnrm = std::max(orgnrm, d[lo + c]);
    int ex = 0;  // orgnrm / 2^ex in [0.5, 1); ldexp, since 2^-ex can overflow for subnormal orgnrm
    if (orgnrm > T(0)) {
      ex = std::ilogb(orgnrm) + 1;
      alpha = std::ldexp(alpha, -ex);
      beta = std::ldexp(beta, -ex);
      for (idx c = 0; c < n; ++c)
        if (c != k) d[lo + c] = std::ldexp(d[lo + c], -ex);
    }
    auto gc = [&](idx c) -> idx { return c == 0 ? lo + k : (c <= k ? lo + c - 1 : lo + c); };
    // Column c of the merged problem, restricted to the block's rows (V: [lo, lo + nv), U: [lo, lo + n)).
    auto vcol = [&](idx c) { return V + lo + gc(c) * ldv; };
    auto ucol = [&](idx c) { return U + lo + gc(c) * ldu; };
    std::vector<T> z(n), dm(n);
    dm[0] = 0;
    z[0] = alpha * V[(lo + k) + (lo + k) * ldv];
    for (idx c = 1; c <= k; ++c) {
      z[c] = alpha * V[(lo + k) + (lo + c - 1) * ldv];
      dm[c] = d[lo + c - 1];
    }
    for (idx c = k + 1; c < n; ++c) {
      z[c] = beta * V[(lo + k + 1) + (lo + c) * ldv];
      dm[c] = d[lo + c];
    }
    // Band types: U rows top [0, k), middle k, bottom [k + 1, n); V rows top [0, k], bottom [k + 1, nv).
    std::vector<uint8_t> ut(n), vt(n);
    ut[0] = 0;
    vt[0] = 1;
    for (idx c = 1; c < n; ++c) ut[c] = vt[c] = c <= k ? 1 : 2;
    if (sq) {
      // Fold the two null columns into one: the other becomes the null vector of the merged B.
      T zn = beta * V[(lo + k + 1) + (lo + n) * ldv];
      T r = lapy2(z[0], zn);
      if (r > T(0) && zn != T(0)) {
        T c = z[0] / r, s = zn / r;
        rot(nv, vcol(0), V + lo + (lo + n) * ldv, c, s);
        z[0] = r;
        vt[0] = 3;
      }
    }
    T scale = std::max(std::abs(alpha), std::abs(beta));
    for (idx c = 1; c < n; ++c) scale = std::max(scale, dm[c]);
    const T tol = T(8) * eps * scale;
    std::vector<idx> ord;
    for (idx c = 1; c < n; ++c) ord.push_back(c);
    std::stable_sort(ord.begin(), ord.end(), [&](idx a, idx b) { return dm[a] < dm[b]; });
    std::vector<uint8_t> defl(n, 0);
    std::vector<T> dval(n, T(0)), usg(n, T(1));
    for (idx c : ord)
      if (std::abs(z[c]) <= tol) {
        defl[c] = 1;
        dval[c] = dm[c];
      }
    idx prev = -1;
    for (idx c : ord) {
      if (defl[c]) continue;
      if (dm[c] <= tol) {
        // Nearly zero pole next to d_0 = 0: rotate it into column 0 (right side only), drop s * dm.
        T r = lapy2(z[0], z[c]);
        T cz = z[0] / r, sz = z[c] / r;
        rot(nv, vcol(0), vcol(c), cz, sz);
        vt[0] = vt[c] = static_cast<uint8_t>(vt[0] | vt[c]);
        z[0] = r;
        z[c] = 0;
        defl[c] = 1;
        T v = cz * dm[c];
        dval[c] = std::abs(v);
        usg[c] = v < T(0) ? T(-1) : T(1);
        continue;
      }
      if (prev >= 0 && dm[c] - dm[prev] <= tol) {
        T s = z[prev], cc = z[c];
        T tau = lapy2(cc, s);
        cc /= tau;
        s = -s / tau;
        rot(n, ucol(prev), ucol(c), cc, s);
        rot(nv, vcol(prev), vcol(c), cc, s);
        ut[c] = ut[prev] = static_cast<uint8_t>(ut[c] | ut[prev]);
        vt[c] = vt[prev] = static_cast<uint8_t>(vt[c] | vt[prev]);
        z[c] = tau;
        z[prev] = 0;
        T dp = dm[prev] * cc * cc + dm[c] * s * s;
        dm[c] = dm[prev] * s * s + dm[c] * cc * cc;
        dm[prev] = dp;
        defl[prev] = 1;
        dval[prev] = dp;
      }
      prev = c;
    }
    std::vector<idx> J{0};
    for (idx c : ord)
      if (!defl[c]) J.push_back(c);
    const idx K = static_cast<idx>(J.size());
    // With K > 1, z_0 is raised to tol (dlasd2) so that the first root stays off the pole d_0 = 0. A
    // K = 1 merge keeps the true value: raising it would invent a singular value of size tol (16 u
    // relative) in every such merge, above the rank cutoffs of small constant or rank-1 matrices.
    if (K > 1 && std::abs(z[0]) <= tol) z[0] = tol;
    std::vector<T> w(K), zs(K), zh(K), tau(K), sig(K);
    std::vector<idx> org(K), gcols(K);
    for (idx i = 0; i < K; ++i) {
      w[i] = z[J[i]] * z[J[i]];
      zs[i] = z[J[i]];
      gcols[i] = gc(J[i]);
    }
    std::vector<T> dv(K);
    for (idx i = 0; i < K; ++i) dv[i] = dm[J[i]];
    auto dif = [&](idx a, idx b) { return (dv[a] - dv[b]) * (dv[a] + dv[b]); };
    Buf<T> Dl(K * K), Um(K * K);
    secularAll(K, w.data(), T(1), dif, Dl.data(), org.data(), tau.data(), threads);
    for (idx j = 0; j < K; ++j) {
      T po = dv[org[j]];
      sig[j] = std::sqrt(std::max(po * po + tau[j], T(0)));
    }
    recomputeZ(K, Dl.data(), dif, zs.data(), zh.data());
    // v_j = zhat ./ (d^2 - sigma_j^2); u_j = (-1, d_i zhat_i / (d_i^2 - sigma_j^2)); both normalized.
    parallelRanges(K >= 64 ? threads : 1, K, 16, [&](idx j0, idx j1, int) {
      for (idx j = j0; j < j1; ++j) {
        T* vc = Dl.data() + j * K;
        T* uc = Um.data() + j * K;
        for (idx i = 0; i < K; ++i) {
          T v = zh[i] / vc[i];
          vc[i] = v;
          uc[i] = dv[i] * v;
        }
        uc[0] = -1;
        T nv2 = nrm2(K, vc, 1), nu2 = nrm2(K, uc, 1);
        for (idx i = 0; i < K; ++i) {
          vc[i] /= nv2;
          uc[i] /= nu2;
        }
      }
    });
    if (K == 1) {
      // Only the d_0 = 0 column survives (as LAPACK's dlasd3 special case): sigma = |z_0|,
      // v = -sign(z_0), u = -1. The formula above divides 0 by 0 when z_0 = 0.
      sig[0] = std::abs(zs[0]);
      Dl[0] = zs[0] < T(0) ? T(1) : T(-1);
      Um[0] = T(-1);
    }
    Buf<T> Uo(n * K), Vo(nv * K);
    std::vector<uint8_t> jut(K), jvt(K);
    for (idx i = 0; i < K; ++i) {
      jut[i] = ut[J[i]];
      jvt[i] = vt[J[i]];
    }
    combineColumns(U, ldu, lo, 0, k, k + 1, n - k - 1, gcols.data(), jut.data(), K, Um.data(), K, Uo.data(), n,
                   threads);
    for (idx j = 0; j < K; ++j) Uo[k + j * n] = Um[0 + j * K];
    combineColumns(V, ldv, lo, 0, k + 1, k + 1, nv - k - 1, gcols.data(), jvt.data(), K, Dl.data(), K, Vo.data(), nv,
                   threads);
    // Ascending merge of roots and deflated values into the block's first n columns.
    std::vector<std::pair<T, idx>> all;
    all.reserve(n);
    for (idx j = 0; j < K; ++j) all.emplace_back(sig[j], j);
    for (idx c = 1; c < n; ++c)
      if (defl[c]) all.emplace_back(dval[c], -(c + 1));
    std::stable_sort(all.begin(), all.end(),
                     [](const std::pair<T, idx>& a, const std::pair<T, idx>& b) { return a.first < b.first; });
    Buf<T> FU(n * n), FV(nv * n);
    for (idx f = 0; f < n; ++f) {
      idx s = all[f].second;
      if (s >= 0) {
        std::memcpy(FU.data() + f * n, Uo.data() + s * n, sizeof(T) * n);
        std::memcpy(FV.data() + f * nv, Vo.data() + s * nv, sizeof(T) * nv);
      } else {
        idx c = -s - 1;
        const T* uc = ucol(c);
        for (idx i = 0; i < n; ++i) FU[i + f * n] = usg[c] * uc[i];
        std::memcpy(FV.data() + f * nv, vcol(c), sizeof(T) * nv);
      }
    }
    for (idx f = 0; f < n; ++f) {
      std::memcpy(U + lo + (lo + f) * ldu, FU.data() + f * n, sizeof(T) * n);
      std::memcpy(V + lo + (lo + f) * ldv, FV.data() + f * nv, sizeof(T) * nv);
      d[lo + f] = std::ldexp(all[f].first, ex);
    }
  }
};

}  // namespace

template <class T>
void stedc(idx n, T* d, T* e, T* Z, idx ldz, int threads) {
  for (idx j = 0; j < n; ++j) std::fill(Z + j * ldz, Z + j * ldz + n, T(0));
  if (n <= 0) return;
  T nrm = 0;
  bool finite = true;
  for (idx i = 0; i < n; ++i) {
    nrm = std::max(nrm, std::abs(d[i]));
    finite = finite && std::isfinite(d[i]);
  }
  for (idx i = 0; i + 1 < n; ++i) {
    nrm = std::max(nrm, std::abs(e[i]));
    finite = finite && std::isfinite(e[i]);
  }
  if (!finite) {  // only reachable through overflow upstream; never sort or iterate on NaN
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (idx j = 0; j < n; ++j) std::fill(Z + j * ldz, Z + j * ldz + n, nan);
    std::fill(d, d + n, nan);
    return;
  }
  if (nrm == T(0)) {
    for (idx i = 0; i < n; ++i) Z[i + i * ldz] = 1;
    return;
  }
  for (idx i = 0; i < n; ++i) d[i] /= nrm;
  for (idx i = 0; i + 1 < n; ++i) e[i] /= nrm;
  TridiagDC<T> dc{d, e, Z, ldz};
  dc.solve(0, n, threads);
  for (idx i = 0; i < n; ++i) d[i] *= nrm;
}

template <class T>
void bdsdc(idx n, T* d, T* e, T* U, idx ldu, T* V, idx ldv, int threads) {
  for (idx j = 0; j < n; ++j) {
    std::fill(U + j * ldu, U + j * ldu + n, T(0));
    std::fill(V + j * ldv, V + j * ldv + n, T(0));
  }
  if (n <= 0) return;
  T nrm = 0;
  bool finite = true;
  for (idx i = 0; i < n; ++i) {
    nrm = std::max(nrm, std::abs(d[i]));
    finite = finite && std::isfinite(d[i]);
  }
  for (idx i = 0; i + 1 < n; ++i) {
    nrm = std::max(nrm, std::abs(e[i]));
    finite = finite && std::isfinite(e[i]);
  }
  if (!finite) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    for (idx j = 0; j < n; ++j) {
      std::fill(U + j * ldu, U + j * ldu + n, nan);
      std::fill(V + j * ldv, V + j * ldv + n, nan);
    }
    std::fill(d, d + n, nan);
    return;
  }
  if (nrm == T(0)) {
    for (idx i = 0; i < n; ++i) {
      U[i + i * ldu] = 1;
      V[i + i * ldv] = 1;
      d[i] = 0;
    }
    return;
  }
  for (idx i = 0; i < n; ++i) d[i] /= nrm;
  for (idx i = 0; i + 1 < n; ++i) e[i] /= nrm;
  BidiagDC<T> dc{d, e, U, ldu, V, ldv};
  dc.solve(0, n, 0, threads);
  for (idx i = 0; i < n; ++i) d[i] *= nrm;
}

template void stedc<float>(idx, float*, float*, float*, idx, int);
template void stedc<double>(idx, double*, double*, double*, idx, int);
template void bdsdc<float>(idx, float*, float*, float*, idx, float*, idx, int);
template void bdsdc<double>(idx, double*, double*, double*, idx, double*, idx, int);

}  // namespace la
}  // namespace lr
