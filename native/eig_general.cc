// Eigendecomposition of a real non-symmetric matrix (f64, host-side; used by ssm.eig / ssm.ptd). The
// algorithms (eig_general.h); the bindings eigGeneral / eigGeneralComplex are in eig.cc:
//   1. Householder reduction to upper Hessenberg form H = Q^T A Q (Q accumulated);
//   2. Francis implicit double-shift QR with deflation on H, giving the real Schur form T = Z^T A Z
//      (1x1 blocks for real eigenvalues, 2x2 blocks for complex pairs), with Wilkinson-style
//      exceptional shifts after 10 and 30 iterations without deflation;
//   3. eigenvectors of T by back-substitution (quasi-triangular solve, as xTREVC), multiplied by Z;
//   4. every eigenvector column scaled to unit 2-norm, returned as complex (re, im) arrays.
// The algorithm follows the classical EISPACK orthes/hqr2 structure (Wilkinson-Reinsch, Handbook for
// Automatic Computation vol. II); the code is written from that description.
#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <vector>

#include "eig_general.h"

namespace lr {
namespace la {
namespace {

// Row-major n x n view.
struct Mat {
  double* a;
  int64_t n;
  double& operator()(int64_t i, int64_t j) const { return a[i * n + j]; }
};

void cdiv(double xr, double xi, double yr, double yi, double& qr, double& qi) {
  if (std::fabs(yr) > std::fabs(yi)) {
    double r = yi / yr, d = yr + r * yi;
    qr = (xr + r * xi) / d;
    qi = (xi - r * xr) / d;
  } else {
    double r = yr / yi, d = yi + r * yr;
    qr = (r * xr + xi) / d;
    qi = (r * xi - xr) / d;
  }
}

// Householder reduction to Hessenberg form; H overwritten, Z = accumulated orthogonal transform.
void hessenberg(Mat H, Mat Z) {
  const int64_t n = H.n;
  std::vector<double> u(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) Z(i, j) = i == j ? 1.0 : 0.0;
  for (int64_t m = 1; m + 1 < n; ++m) {
    double scale = 0;
    for (int64_t i = m; i < n; ++i) scale += std::fabs(H(i, m - 1));
    if (scale == 0) continue;
    double ss = 0;
    for (int64_t i = m; i < n; ++i) {
      u[i] = H(i, m - 1) / scale;
      ss += u[i] * u[i];
    }
    double alpha = std::sqrt(ss);
    if (u[m] > 0) alpha = -alpha;
    u[m] -= alpha;
    double h = 0;  // u^T u / 2: P = I - u u^T / h maps x to alpha scale e_m
    for (int64_t i = m; i < n; ++i) h += u[i] * u[i];
    h *= 0.5;
    if (h == 0) continue;
    for (int64_t j = m; j < n; ++j) {  // H <- P H (columns < m hold zeros below row m but m - 1)
      double f = 0;
      for (int64_t i = m; i < n; ++i) f += u[i] * H(i, j);
      f /= h;
      for (int64_t i = m; i < n; ++i) H(i, j) -= f * u[i];
    }
    for (int64_t i = 0; i < n; ++i) {  // H <- H P
      double f = 0;
      for (int64_t j = m; j < n; ++j) f += H(i, j) * u[j];
      f /= h;
      for (int64_t j = m; j < n; ++j) H(i, j) -= f * u[j];
    }
    for (int64_t i = 0; i < n; ++i) {  // Z <- Z P
      double f = 0;
      for (int64_t j = m; j < n; ++j) f += Z(i, j) * u[j];
      f /= h;
      for (int64_t j = m; j < n; ++j) Z(i, j) -= f * u[j];
    }
    H(m, m - 1) = scale * alpha;
    for (int64_t i = m + 1; i < n; ++i) H(i, m - 1) = 0;
  }
}

// Sum of |H(i, j)| over the Hessenberg part of H (the scale of the deflation and back-substitution
// tests).
double hessenbergNorm(Mat H) {
  const int64_t nn = H.n;
  double norm = 0;
  for (int64_t i = 0; i < nn; ++i)
    for (int64_t j = std::max<int64_t>(i - 1, 0); j < nn; ++j) norm += std::fabs(H(i, j));
  return norm;
}

// Real Schur form T = Z^T A Z of the Hessenberg H by Francis double-shift QR with deflation (hqr2's
// first phase), accumulating into Z; eigenvalues in wr, wi. False when the iteration did not converge.
bool realSchur(Mat H, Mat Z, double* wr, double* wi, double norm) {
  const int64_t nn = H.n;
  const double eps = std::numeric_limits<double>::epsilon();
  int64_t n = nn - 1;
  const int64_t low = 0, high = nn - 1;
  double exshift = 0, p = 0, q = 0, r = 0, s = 0, z = 0, w, x, y;

  int64_t iter = 0, total = 0;
  const int64_t maxTotal = 100 * std::max<int64_t>(nn, 10);
  while (n >= low) {
    int64_t l = n;
    while (l > low) {
      s = std::fabs(H(l - 1, l - 1)) + std::fabs(H(l, l));
      if (s == 0) s = norm;
      if (std::fabs(H(l, l - 1)) < eps * s) break;
      --l;
    }
    if (l == n) {  // one root
      H(n, n) += exshift;
      wr[n] = H(n, n);
      wi[n] = 0;
      --n;
      iter = 0;
    } else if (l == n - 1) {  // two roots
      w = H(n, n - 1) * H(n - 1, n);
      p = (H(n - 1, n - 1) - H(n, n)) / 2.0;
      q = p * p + w;
      z = std::sqrt(std::fabs(q));
      H(n, n) += exshift;
      H(n - 1, n - 1) += exshift;
      x = H(n, n);
      if (q >= 0) {  // real pair: rotate to upper triangular
        z = p >= 0 ? p + z : p - z;
        wr[n - 1] = x + z;
        wr[n] = wr[n - 1];
        if (z != 0) wr[n] = x - w / z;
        wi[n - 1] = 0;
        wi[n] = 0;
        x = H(n, n - 1);
        s = std::fabs(x) + std::fabs(z);
        p = x / s;
        q = z / s;
        r = std::sqrt(p * p + q * q);
        p /= r;
        q /= r;
        for (int64_t j = n - 1; j < nn; ++j) {
          z = H(n - 1, j);
          H(n - 1, j) = q * z + p * H(n, j);
          H(n, j) = q * H(n, j) - p * z;
        }
        for (int64_t i = 0; i <= n; ++i) {
          z = H(i, n - 1);
          H(i, n - 1) = q * z + p * H(i, n);
          H(i, n) = q * H(i, n) - p * z;
        }
        for (int64_t i = low; i <= high; ++i) {
          z = Z(i, n - 1);
          Z(i, n - 1) = q * z + p * Z(i, n);
          Z(i, n) = q * Z(i, n) - p * z;
        }
      } else {  // complex pair
        wr[n - 1] = x + p;
        wr[n] = x + p;
        wi[n - 1] = z;
        wi[n] = -z;
      }
      n -= 2;
      iter = 0;
    } else {  // no convergence yet: one double-shift step
      if (++total > maxTotal) return false;
      x = H(n, n);
      y = 0;
      w = 0;
      if (l < n) {
        y = H(n - 1, n - 1);
        w = H(n, n - 1) * H(n - 1, n);
      }
      if (iter == 10) {  // exceptional shift
        exshift += x;
        for (int64_t i = low; i <= n; ++i) H(i, i) -= x;
        s = std::fabs(H(n, n - 1)) + std::fabs(H(n - 1, n - 2));
        x = y = 0.75 * s;
        w = -0.4375 * s * s;
      }
      if (iter == 30) {  // second exceptional shift
        s = (y - x) / 2.0;
        s = s * s + w;
        if (s > 0) {
          s = std::sqrt(s);
          if (y < x) s = -s;
          s = x - w / ((y - x) / 2.0 + s);
          for (int64_t i = low; i <= n; ++i) H(i, i) -= s;
          exshift += s;
          x = y = w = 0.964;
        }
      }
      ++iter;
      // Two consecutive small subdiagonal elements.
      int64_t m = n - 2;
      while (m >= l) {
        z = H(m, m);
        r = x - z;
        s = y - z;
        p = (r * s - w) / H(m + 1, m) + H(m, m + 1);
        q = H(m + 1, m + 1) - z - r - s;
        r = H(m + 2, m + 1);
        s = std::fabs(p) + std::fabs(q) + std::fabs(r);
        p /= s;
        q /= s;
        r /= s;
        if (m == l) break;
        if (std::fabs(H(m, m - 1)) * (std::fabs(q) + std::fabs(r)) <
            eps * (std::fabs(p) * (std::fabs(H(m - 1, m - 1)) + std::fabs(z) + std::fabs(H(m + 1, m + 1)))))
          break;
        --m;
      }
      for (int64_t i = m + 2; i <= n; ++i) {
        H(i, i - 2) = 0;
        if (i > m + 2) H(i, i - 3) = 0;
      }
      for (int64_t k = m; k <= n - 1; ++k) {
        bool notlast = k != n - 1;
        if (k != m) {
          p = H(k, k - 1);
          q = H(k + 1, k - 1);
          r = notlast ? H(k + 2, k - 1) : 0.0;
          x = std::fabs(p) + std::fabs(q) + std::fabs(r);
          if (x == 0) continue;
          p /= x;
          q /= x;
          r /= x;
        }
        s = std::sqrt(p * p + q * q + r * r);
        if (p < 0) s = -s;
        if (s == 0) continue;
        if (k != m)
          H(k, k - 1) = -s * x;
        else if (l != m)
          H(k, k - 1) = -H(k, k - 1);
        p += s;
        x = p / s;
        y = q / s;
        z = r / s;
        q /= p;
        r /= p;
        for (int64_t j = k; j < nn; ++j) {
          p = H(k, j) + q * H(k + 1, j);
          if (notlast) {
            p += r * H(k + 2, j);
            H(k + 2, j) -= p * z;
          }
          H(k, j) -= p * x;
          H(k + 1, j) -= p * y;
        }
        for (int64_t i = 0; i <= std::min(n, k + 3); ++i) {
          p = x * H(i, k) + y * H(i, k + 1);
          if (notlast) {
            p += z * H(i, k + 2);
            H(i, k + 2) -= p * r;
          }
          H(i, k) -= p;
          H(i, k + 1) -= p * q;
        }
        for (int64_t i = low; i <= high; ++i) {
          p = x * Z(i, k) + y * Z(i, k + 1);
          if (notlast) {
            p += z * Z(i, k + 2);
            Z(i, k + 2) -= p * r;
          }
          Z(i, k) -= p;
          Z(i, k + 1) -= p * q;
        }
      }
    }
  }

  return true;
}

// Eigenvectors of the quasi-triangular T (in H) by back-substitution (hqr2's second phase, as xTREVC),
// stored in the upper part of H; complex pair j, j + 1 (wi[j] > 0) in columns j (re) and j + 1 (im).
void schurEigenvectors(Mat H, const double* wr, const double* wi, double norm) {
  const int64_t nn = H.n;
  const double eps = std::numeric_limits<double>::epsilon();
  int64_t n;
  double p = 0, q = 0, r = 0, s = 0, z = 0, t = 0, w = 0, x = 0, y = 0;
  // Back-substitution: eigenvectors of the quasi-triangular T, stored in the upper part of H.
  for (n = nn - 1; n >= 0; --n) {
    p = wr[n];
    q = wi[n];
    if (q == 0) {
      int64_t l = n;
      H(n, n) = 1.0;
      for (int64_t i = n - 1; i >= 0; --i) {
        w = H(i, i) - p;
        r = 0;
        for (int64_t j = l; j <= n; ++j) r += H(i, j) * H(j, n);
        if (wi[i] < 0) {
          z = w;
          s = r;
        } else {
          l = i;
          if (wi[i] == 0) {
            H(i, n) = w != 0 ? -r / w : -r / (eps * norm);
          } else {
            x = H(i, i + 1);
            y = H(i + 1, i);
            q = (wr[i] - p) * (wr[i] - p) + wi[i] * wi[i];
            t = (x * s - z * r) / q;
            H(i, n) = t;
            H(i + 1, n) = std::fabs(x) > std::fabs(z) ? (-r - w * t) / x : (-s - y * t) / z;
          }
          t = std::fabs(H(i, n));
          if ((eps * t) * t > 1)
            for (int64_t j = i; j <= n; ++j) H(j, n) /= t;
        }
      }
    } else if (q < 0) {
      int64_t l = n - 1;
      if (std::fabs(H(n, n - 1)) > std::fabs(H(n - 1, n))) {
        H(n - 1, n - 1) = q / H(n, n - 1);
        H(n - 1, n) = -(H(n, n) - p) / H(n, n - 1);
      } else {
        cdiv(0.0, -H(n - 1, n), H(n - 1, n - 1) - p, q, H(n - 1, n - 1), H(n - 1, n));
      }
      H(n, n - 1) = 0.0;
      H(n, n) = 1.0;
      for (int64_t i = n - 2; i >= 0; --i) {
        double ra = 0, sa = 0, vr, vi;
        for (int64_t j = l; j <= n; ++j) {
          ra += H(i, j) * H(j, n - 1);
          sa += H(i, j) * H(j, n);
        }
        w = H(i, i) - p;
        if (wi[i] < 0) {
          z = w;
          r = ra;
          s = sa;
        } else {
          l = i;
          if (wi[i] == 0) {
            cdiv(-ra, -sa, w, q, H(i, n - 1), H(i, n));
          } else {
            x = H(i, i + 1);
            y = H(i + 1, i);
            vr = (wr[i] - p) * (wr[i] - p) + wi[i] * wi[i] - q * q;
            vi = (wr[i] - p) * 2.0 * q;
            if (vr == 0 && vi == 0)
              vr = eps * norm * (std::fabs(w) + std::fabs(q) + std::fabs(x) + std::fabs(y) + std::fabs(z));
            cdiv(x * r - z * ra + q * sa, x * s - z * sa - q * ra, vr, vi, H(i, n - 1), H(i, n));
            if (std::fabs(x) > std::fabs(z) + std::fabs(q)) {
              H(i + 1, n - 1) = (-ra - w * H(i, n - 1) + q * H(i, n)) / x;
              H(i + 1, n) = (-sa - w * H(i, n) - q * H(i, n - 1)) / x;
            } else {
              cdiv(-r - y * H(i, n - 1), -s - y * H(i, n), z, q, H(i + 1, n - 1), H(i + 1, n));
            }
          }
          t = std::max(std::fabs(H(i, n - 1)), std::fabs(H(i, n)));
          if ((eps * t) * t > 1)
            for (int64_t j = i; j <= n; ++j) {
              H(j, n - 1) /= t;
              H(j, n) /= t;
            }
        }
      }
    }
  }
}

// Z <- Z * (upper part of H): the eigenvectors of A from those of T.
void backTransform(Mat H, Mat Z) {
  const int64_t nn = H.n;
  std::vector<double> row(static_cast<size_t>(nn));
  for (int64_t i = 0; i < nn; ++i) {
    for (int64_t j = 0; j < nn; ++j) {
      double acc = 0;
      for (int64_t k = 0; k <= j; ++k) acc += Z(i, k) * H(k, j);
      row[j] = acc;
    }
    for (int64_t j = 0; j < nn; ++j) Z(i, j) = row[j];
  }
}

// Real Schur form of the Hessenberg H, accumulating into Z, followed by the eigenvector
// back-substitution; on return Z holds the eigenvectors in real storage (complex pair j, j + 1 with
// wi[j] > 0: v = Z[:, j] + i Z[:, j + 1], its conjugate for lambda_{j+1}). False: no convergence.
bool schurVectors(Mat H, Mat Z, double* wr, double* wi) {
  const double norm = hessenbergNorm(H);
  if (!realSchur(H, Z, wr, wi, norm)) return false;
  if (norm == 0) return true;
  schurEigenvectors(H, wr, wi, norm);
  backTransform(H, Z);
  return true;
}

}  // namespace

bool eigGeneral(int64_t n, const double* A, double* wr, double* wi, double* vr, double* vi) {
  const size_t nn = static_cast<size_t>(n);
  std::vector<double> h(A, A + nn * nn), z(nn * nn);
  double* WR = wr;
  double* WI = wi;
  if (n == 0) return true;
  Mat H{h.data(), n}, Z{z.data(), n};
  hessenberg(H, Z);
  if (!schurVectors(H, Z, WR, WI)) return false;
  double* VR = vr;
  double* VI = vi;
  for (int64_t j = 0; j < n; ++j) {
    if (WI[j] == 0) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += Z(i, j) * Z(i, j);
      s = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
      for (int64_t i = 0; i < n; ++i) {
        VR[i * n + j] = Z(i, j) * s;
        VI[i * n + j] = 0;
      }
    } else if (WI[j] > 0 && j + 1 < n) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += Z(i, j) * Z(i, j) + Z(i, j + 1) * Z(i, j + 1);
      s = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
      for (int64_t i = 0; i < n; ++i) {
        VR[i * n + j] = Z(i, j) * s;
        VI[i * n + j] = Z(i, j + 1) * s;
        VR[i * n + j + 1] = Z(i, j) * s;
        VI[i * n + j + 1] = -Z(i, j + 1) * s;
      }
      ++j;
    }
  }
  return true;
}

namespace {

// ---- complex variant (for complex perturbations): Householder Hessenberg reduction, single-shift
// complex QR (Wilkinson shift, exceptional shifts) to the complex Schur form T = Z^H A Z, eigenvectors of
// the triangular T by back-substitution, multiplied by Z, unit columns.
using cx = std::complex<double>;

inline cx cmul(cx a, cx b) {
  return cx(a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real());
}
inline double cabs1(cx a) { return std::fabs(a.real()) + std::fabs(a.imag()); }

struct CMat {
  cx* a;
  int64_t n;
  cx& operator()(int64_t i, int64_t j) const { return a[i * n + j]; }
};

void hessenbergComplex(CMat H, CMat Z) {
  const int64_t n = H.n;
  std::vector<cx> u(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) Z(i, j) = i == j ? cx(1, 0) : cx(0, 0);
  for (int64_t m = 1; m + 1 < n; ++m) {
    double scale = 0;
    for (int64_t i = m; i < n; ++i) scale += cabs1(H(i, m - 1));
    if (scale == 0) continue;
    double ss = 0;
    for (int64_t i = m; i < n; ++i) {
      u[i] = H(i, m - 1) / scale;
      ss += std::norm(u[i]);
    }
    const double nx = std::sqrt(ss), a0 = std::abs(u[m]);
    const cx phase = a0 > 0 ? u[m] / a0 : cx(1, 0);
    const cx alpha = -phase * nx;  // P x = alpha e_m (scaled)
    u[m] -= alpha;
    double uu = 0;
    for (int64_t i = m; i < n; ++i) uu += std::norm(u[i]);
    if (uu == 0) continue;
    const double f2 = 2.0 / uu;
    for (int64_t j = m; j < n; ++j) {  // H <- P H, P = I - 2 u u^H / uu
      cx f = 0;
      for (int64_t i = m; i < n; ++i) f += cmul(std::conj(u[i]), H(i, j));
      f *= f2;
      for (int64_t i = m; i < n; ++i) H(i, j) -= cmul(u[i], f);
    }
    for (int64_t i = 0; i < n; ++i) {  // H <- H P
      cx f = 0;
      for (int64_t j = m; j < n; ++j) f += cmul(H(i, j), u[j]);
      f *= f2;
      for (int64_t j = m; j < n; ++j) H(i, j) -= cmul(f, std::conj(u[j]));
    }
    for (int64_t i = 0; i < n; ++i) {  // Z <- Z P
      cx f = 0;
      for (int64_t j = m; j < n; ++j) f += cmul(Z(i, j), u[j]);
      f *= f2;
      for (int64_t j = m; j < n; ++j) Z(i, j) -= cmul(f, std::conj(u[j]));
    }
    H(m, m - 1) = alpha * scale;
    for (int64_t i = m + 1; i < n; ++i) H(i, m - 1) = 0;
  }
}

// Rotation G = [[c, s], [-conj(s), c]] (c real) with G [x; y] = [r; 0].
void givens(cx x, cx y, double& c, cx& s) {
  const double ax = std::abs(x), ay = std::abs(y);
  if (ay == 0) {
    c = 1;
    s = 0;
    return;
  }
  if (ax == 0) {
    c = 0;
    s = std::conj(y) / ay;
    return;
  }
  const double nrm = std::hypot(ax, ay);
  c = ax / nrm;
  s = cmul(x / ax, std::conj(y)) / nrm;
}

bool schurComplex(CMat H, CMat Z) {
  const int64_t n = H.n;
  const double eps = std::numeric_limits<double>::epsilon();
  double norm = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = std::max<int64_t>(i - 1, 0); j < n; ++j) norm = std::max(norm, cabs1(H(i, j)));
  int64_t hi = n - 1, iter = 0, total = 0;
  const int64_t maxTotal = 100 * std::max<int64_t>(n, 10);
  while (hi > 0) {
    int64_t l = hi;
    for (; l > 0; --l) {
      double s = cabs1(H(l - 1, l - 1)) + cabs1(H(l, l));
      if (s == 0) s = norm;
      if (cabs1(H(l, l - 1)) <= eps * s) {
        H(l, l - 1) = 0;
        break;
      }
    }
    if (l == hi) {
      --hi;
      iter = 0;
      continue;
    }
    if (++total > maxTotal) return false;
    ++iter;
    cx mu;
    if (iter % 10 == 0) {  // exceptional shift
      mu = H(hi, hi) + cx(0.75 * cabs1(H(hi, hi - 1)), 0);
    } else {  // Wilkinson: the eigenvalue of the trailing 2 x 2 block nearer to H(hi, hi)
      const cx a = H(hi - 1, hi - 1), b = H(hi - 1, hi), c = H(hi, hi - 1), d = H(hi, hi);
      const cx tr2 = (a + d) * 0.5, det = cmul(a, d) - cmul(b, c);
      const cx disc = std::sqrt(cmul(tr2, tr2) - det);
      const cx e1 = tr2 + disc, e2 = tr2 - disc;
      mu = std::abs(e1 - d) < std::abs(e2 - d) ? e1 : e2;
    }
    cx x = H(l, l) - mu, y = H(l + 1, l);
    for (int64_t k = l; k < hi; ++k) {
      if (k > l) {
        x = H(k, k - 1);
        y = H(k + 1, k - 1);
      }
      double c;
      cx s;
      givens(x, y, c, s);
      if (k > l) {
        H(k, k - 1) = c * x + cmul(s, y);
        H(k + 1, k - 1) = 0;
      }
      for (int64_t j = k > l ? k : l; j < n; ++j) {
        const cx p = H(k, j), q = H(k + 1, j);
        H(k, j) = c * p + cmul(s, q);
        H(k + 1, j) = -cmul(std::conj(s), p) + c * q;
      }
      const int64_t last = std::min(k + 2, hi);
      for (int64_t i = 0; i <= last; ++i) {
        const cx p = H(i, k), q = H(i, k + 1);
        H(i, k) = c * p + cmul(q, std::conj(s));
        H(i, k + 1) = -cmul(p, s) + c * q;
      }
      for (int64_t i = 0; i < n; ++i) {
        const cx p = Z(i, k), q = Z(i, k + 1);
        Z(i, k) = c * p + cmul(q, std::conj(s));
        Z(i, k + 1) = -cmul(p, s) + c * q;
      }
    }
  }
  return true;
}

}  // namespace

bool eigGeneralComplex(int64_t n, const double* Are, const double* Aim, double* wr, double* wi, double* vr,
                       double* vi) {
  const size_t nn = static_cast<size_t>(n);
  std::vector<cx> h(nn * nn), z(nn * nn), y(nn);
  for (size_t i = 0; i < nn * nn; ++i) h[i] = cx(Are[i], Aim[i]);
  if (n == 0) return true;
  CMat H{h.data(), n}, Z{z.data(), n};
  hessenbergComplex(H, Z);
  if (!schurComplex(H, Z)) return false;
  const double eps = std::numeric_limits<double>::epsilon();
  double norm = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i; j < n; ++j) norm = std::max(norm, cabs1(H(i, j)));
  const double smin = std::max(eps * norm, std::numeric_limits<double>::min());
  for (int64_t k = 0; k < n; ++k) {
    wr[k] = H(k, k).real();
    wi[k] = H(k, k).imag();
    const cx lam = H(k, k);
    for (int64_t i = 0; i < n; ++i) y[i] = 0;
    y[k] = 1;
    for (int64_t i = k - 1; i >= 0; --i) {
      cx r = 0;
      for (int64_t j = i + 1; j <= k; ++j) r += cmul(H(i, j), y[j]);
      cx d = H(i, i) - lam;
      if (cabs1(d) < smin) d = cx(smin, 0);
      y[i] = -r / d;
      // rescale against overflow
      const double t = cabs1(y[i]);
      if (t > 1e100)
        for (int64_t j = i; j <= k; ++j) y[j] /= t;
    }
    double s = 0;
    std::vector<cx> v(nn);
    for (int64_t i = 0; i < n; ++i) {
      cx acc = 0;
      for (int64_t j = 0; j <= k; ++j) acc += cmul(Z(i, j), y[j]);
      v[i] = acc;
      s += std::norm(acc);
    }
    s = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
    for (int64_t i = 0; i < n; ++i) {
      vr[i * n + k] = v[i].real() * s;
      vi[i * n + k] = v[i].imag() * s;
    }
  }
  return true;
}

}  // namespace la
}  // namespace lr
