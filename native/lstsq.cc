// Least squares: QR with Q^T B applied implicitly and a triangular solve when R is safely of full
// rank; otherwise (wide A, or R near the rank cutoff) the minimum-norm solution through the SVD with
// the relative cutoff max(m, n) u sigma_1, reusing the QR when there is one.
#include "lapack.h"

namespace lr {
namespace la {
namespace {

// X (q x nrhs) = V(:, 0:r) diag(1 / s) U(:, 0:r)^T C, U row-major p x k, V row-major q x k.
template <class T>
idx minNorm(idx p, idx q, idx k, const T* U, const double* S, const T* V, const T* C, idx nrhs, T* X, double rcond,
            int threads) {
  idx r = 0;
  double cut = rcond * (k > 0 ? S[0] : 0.0);
  while (r < k && S[r] > cut && S[r] > 0) ++r;
  if (r == 0) {
    std::fill(X, X + q * nrhs, T(0));
    return 0;
  }
  Buf<T> tmp(r * nrhs);
  gemm<T>(true, false, r, nrhs, p, T(1), U, k, C, nrhs, T(0), tmp.data(), nrhs, threads);
  for (idx i = 0; i < r; ++i) {
    T inv = static_cast<T>(1.0 / S[i]);
    for (idx c = 0; c < nrhs; ++c) tmp[i * nrhs + c] *= inv;
  }
  gemm<T>(false, false, q, nrhs, r, T(1), V, k, tmp.data(), nrhs, T(0), X, nrhs, threads);
  return r;
}

// Deterministic pseudo-random start vector.
template <class T>
void startVector(idx n, T* x) {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (idx i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x[i] = static_cast<T>(static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0) - 0.5);
  }
}

// True when the upper-triangular R (row-major n x n) is safely above the rank cutoff: power iterations
// give sigma_1 from below and sigma_n from above (both estimates are attained values), and the test
// keeps a margin of 20 against the cutoff. Near-deficient cases go to the SVD, which is always right.
template <class T>
bool safelyFullRank(idx n, const T* R, double rcond) {
  for (idx i = 0; i < n; ++i)
    if (!(R[i * n + i] != T(0))) return false;
  std::vector<T> x(n), y(n);
  // sigma_1: x <- R^T R x.
  startVector(n, x.data());
  double smax = 0;
  for (int it = 0; it < 8; ++it) {
    double nx = nrm2(n, x.data(), 1);
    if (!(nx > 0)) return false;
    for (idx i = 0; i < n; ++i) x[i] = static_cast<T>(x[i] / nx);
    for (idx i = 0; i < n; ++i) y[i] = dot(n - i, R + i * n + i, x.data() + i);  // y = R x
    smax = std::max(smax, static_cast<double>(nrm2(n, y.data(), 1)));
    std::fill(x.begin(), x.end(), T(0));
    for (idx i = 0; i < n; ++i) axpy(n - i, y[i], R + i * n + i, x.data() + i);  // x = R^T y
  }
  // 1 / sigma_n: x <- R^-1 R^-T x.
  startVector(n, x.data());
  double inv = 0;
  for (int it = 0; it < 8; ++it) {
    double nx = nrm2(n, x.data(), 1);
    if (!(nx > 0) || !std::isfinite(nx)) return false;
    for (idx i = 0; i < n; ++i) x[i] = static_cast<T>(x[i] / nx);
    y = x;
    trsmLeft(false, true, n, 1, R, n, y.data(), 1, 1);  // y = R^-T x
    double ny = nrm2(n, y.data(), 1);
    if (!std::isfinite(ny)) return false;
    inv = std::max(inv, ny);
    x = y;
    trsmLeft(false, false, n, 1, R, n, x.data(), 1, 1);  // x = R^-1 y
  }
  if (!(inv > 0) || !std::isfinite(inv)) return false;
  double smin = 1.0 / inv;
  return smin > 20.0 * rcond * smax;
}

}  // namespace

template <class T>
idx gelsq(idx m, idx n, idx nrhs, const T* A, const T* B, T* X, int threads) {
  if (n <= 0) return 0;
  if (m <= 0) {
    std::fill(X, X + n * nrhs, T(0));
    return 0;
  }
  if (!allFinite(m * n, A) || !allFinite(m * nrhs, B)) {
    std::fill(X, X + n * nrhs, std::numeric_limits<T>::quiet_NaN());
    return 0;
  }
  const double rcond = static_cast<double>(std::max(m, n)) * static_cast<double>(unitRoundoff<T>());
  if (m >= n) {
    Buf<T> Aw(m * n), R(n * n), Bw(m * nrhs);
    std::memcpy(Aw.data(), A, sizeof(T) * m * n);
    std::memcpy(Bw.data(), B, sizeof(T) * m * nrhs);
    QRFactors<T> f;
    geqrf(m, n, Aw.data(), n, R.data(), n, f, threads);
    f.apply(true, nrhs, Bw.data(), nrhs, threads);
    if (safelyFullRank(n, R.data(), rcond)) {
      std::memcpy(X, Bw.data(), sizeof(T) * n * nrhs);
      trsmLeft(false, false, n, nrhs, R.data(), n, X, nrhs, threads);
      return n;
    }
    Buf<T> U(n * n), V(n * n);
    std::vector<double> S(n);
    gesdd(n, n, R.data(), n, U.data(), n, S.data(), V.data(), n, threads);
    return minNorm(n, n, n, U.data(), S.data(), V.data(), Bw.data(), nrhs, X, rcond, threads);
  }
  idx k = m;
  Buf<T> U(m * k), V(n * k);
  std::vector<double> S(k);
  gesdd(m, n, A, n, U.data(), k, S.data(), V.data(), k, threads);
  return minNorm(m, n, k, U.data(), S.data(), V.data(), B, nrhs, X, rcond, threads);
}

template idx gelsq<float>(idx, idx, idx, const float*, const float*, float*, int);
template idx gelsq<double>(idx, idx, idx, const double*, const double*, double*, int);

}  // namespace la
}  // namespace lr
