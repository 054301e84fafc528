// Eigendecomposition of a real non-symmetric matrix (f64, host-side; used by ssm.eig / ssm.ptd):
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

#include "common.h"

namespace lr {
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

// Real Schur form of the Hessenberg H by Francis double-shift QR, accumulating into Z, followed by
// the eigenvector back-substitution; on return Z holds the eigenvectors in real storage (complex pair
// j, j + 1 with wi[j] > 0: v = Z[:, j] + i Z[:, j + 1], its conjugate for lambda_{j+1}).
void schurVectors(Mat H, Mat Z, double* wr, double* wi) {
  const int64_t nn = H.n;
  const double eps = std::numeric_limits<double>::epsilon();
  int64_t n = nn - 1;
  const int64_t low = 0, high = nn - 1;
  double exshift = 0, p = 0, q = 0, r = 0, s = 0, z = 0, t, w, x, y;

  double norm = 0;
  for (int64_t i = 0; i < nn; ++i)
    for (int64_t j = std::max<int64_t>(i - 1, 0); j < nn; ++j) norm += std::fabs(H(i, j));

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
      if (++total > maxTotal) throwGeneric("eigGeneral: the QR iteration did not converge");
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
        if (k != m) H(k, k - 1) = -s * x;
        else if (l != m) H(k, k - 1) = -H(k, k - 1);
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

  if (norm == 0) return;
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
  // Back-transform: Z <- Z * (upper part of H).
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

struct EigGeneralJob : Job {
  FloatArray A, wr, wi, vr, vi;
  int64_t n = 0;
  void Execute() override {
    const size_t nn = static_cast<size_t>(n);
    std::vector<double> h(A.ptr<double>(), A.ptr<double>() + nn * nn), z(nn * nn);
    for (double v : h)
      if (!std::isfinite(v)) throwRange("eigGeneral: argument 'A' has a non-finite entry");
    double* WR = wr.ptr<double>();
    double* WI = wi.ptr<double>();
    if (n == 0) return;
    Mat H{h.data(), n}, Z{z.data(), n};
    hessenberg(H, Z);
    schurVectors(H, Z, WR, WI);
    double* VR = vr.ptr<double>();
    double* VI = vi.ptr<double>();
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
  }
};

// eigGeneral(A: Float64Array(n*n) row-major, n, valuesRe, valuesIm: Float64Array(n),
//            vectorsRe, vectorsIm: Float64Array(n*n), threads): A V = V diag(values), unit columns.
Napi::Value EigGeneral(const Napi::CallbackInfo& info) {
  Args a(info, "eigGeneral", 7);
  auto job = std::make_unique<EigGeneralJob>();
  job->A = a.floats(0, "A");
  job->n = a.dim(1, "n");
  job->wr = a.floats(2, "valuesRe");
  job->wi = a.floats(3, "valuesIm");
  job->vr = a.floats(4, "vectorsRe");
  job->vi = a.floats(5, "vectorsIm");
  job->threads = a.threads(6);
  a.needDtype(job->A, DType::F64, "A");
  a.needDtype(job->wr, DType::F64, "valuesRe");
  a.needDtype(job->wi, DType::F64, "valuesIm");
  a.needDtype(job->vr, DType::F64, "vectorsRe");
  a.needDtype(job->vi, DType::F64, "vectorsIm");
  uint64_t n = static_cast<uint64_t>(job->n);
  a.needLength(job->A, n * n, "A");
  a.needLength(job->wr, n, "valuesRe");
  a.needLength(job->wi, n, "valuesIm");
  a.needLength(job->vr, n * n, "vectorsRe");
  a.needLength(job->vi, n * n, "vectorsIm");
  const FloatArray* outs[] = {&job->wr, &job->wi, &job->vr, &job->vi};
  const char* names[] = {"valuesRe", "valuesIm", "vectorsRe", "vectorsIm"};
  for (int i = 0; i < 4; ++i) {
    a.noAlias(*outs[i], job->A, names[i], "A");
    for (int k = i + 1; k < 4; ++k) a.noAlias(*outs[i], *outs[k], names[i], names[k]);
  }
  double dn = static_cast<double>(n);
  job->cost = kFactorWeight * 25 * dn * dn * dn;
  job->keep(job->A);
  for (auto* o : outs) job->keep(*o);
  return Submit(info.Env(), std::move(job));
}

// ---- complex variant (for complex perturbations): Householder Hessenberg reduction, single-shift
// complex QR (Wilkinson shift, exceptional shifts) to the complex Schur form T = Z^H A Z, eigenvectors of
// the triangular T by back-substitution, multiplied by Z, unit columns.
using cx = std::complex<double>;

inline cx cmul(cx a, cx b) { return cx(a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real()); }
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
  if (ay == 0) { c = 1; s = 0; return; }
  if (ax == 0) { c = 0; s = std::conj(y) / ay; return; }
  const double nrm = std::hypot(ax, ay);
  c = ax / nrm;
  s = cmul(x / ax, std::conj(y)) / nrm;
}

void schurComplex(CMat H, CMat Z) {
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
      if (cabs1(H(l, l - 1)) <= eps * s) { H(l, l - 1) = 0; break; }
    }
    if (l == hi) { --hi; iter = 0; continue; }
    if (++total > maxTotal) throwGeneric("eigGeneralComplex: the QR iteration did not converge");
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
      if (k > l) { x = H(k, k - 1); y = H(k + 1, k - 1); }
      double c;
      cx s;
      givens(x, y, c, s);
      if (k > l) { H(k, k - 1) = c * x + cmul(s, y); H(k + 1, k - 1) = 0; }
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
}

struct EigComplexJob : Job {
  FloatArray ar, ai, wr, wi, vr, vi;
  int64_t n = 0;
  void Execute() override {
    const size_t nn = static_cast<size_t>(n);
    std::vector<cx> h(nn * nn), z(nn * nn), y(nn);
    for (size_t i = 0; i < nn * nn; ++i) {
      const double re = ar.ptr<double>()[i], im = ai.ptr<double>()[i];
      if (!std::isfinite(re) || !std::isfinite(im)) throwRange("eigGeneralComplex: argument 'A' has a non-finite entry");
      h[i] = cx(re, im);
    }
    if (n == 0) return;
    CMat H{h.data(), n}, Z{z.data(), n};
    hessenbergComplex(H, Z);
    schurComplex(H, Z);
    const double eps = std::numeric_limits<double>::epsilon();
    double norm = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i; j < n; ++j) norm = std::max(norm, cabs1(H(i, j)));
    const double smin = std::max(eps * norm, std::numeric_limits<double>::min());
    for (int64_t k = 0; k < n; ++k) {
      wr.ptr<double>()[k] = H(k, k).real();
      wi.ptr<double>()[k] = H(k, k).imag();
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
        vr.ptr<double>()[i * n + k] = v[i].real() * s;
        vi.ptr<double>()[i * n + k] = v[i].imag() * s;
      }
    }
  }
};

// eigGeneralComplex(Are, Aim: Float64Array(n*n), n, valuesRe, valuesIm (n), vectorsRe, vectorsIm (n*n), threads).
Napi::Value EigGeneralComplex(const Napi::CallbackInfo& info) {
  Args a(info, "eigGeneralComplex", 8);
  auto job = std::make_unique<EigComplexJob>();
  job->ar = a.floats(0, "Are");
  job->ai = a.floats(1, "Aim");
  job->n = a.dim(2, "n");
  job->wr = a.floats(3, "valuesRe");
  job->wi = a.floats(4, "valuesIm");
  job->vr = a.floats(5, "vectorsRe");
  job->vi = a.floats(6, "vectorsIm");
  job->threads = a.threads(7);
  FloatArray* all[] = {&job->ar, &job->ai, &job->wr, &job->wi, &job->vr, &job->vi};
  const char* names[] = {"Are", "Aim", "valuesRe", "valuesIm", "vectorsRe", "vectorsIm"};
  for (int i = 0; i < 6; ++i) a.needDtype(*all[i], DType::F64, names[i]);
  uint64_t n = static_cast<uint64_t>(job->n);
  const uint64_t lens[] = {n * n, n * n, n, n, n * n, n * n};
  for (int i = 0; i < 6; ++i) a.needLength(*all[i], lens[i], names[i]);
  for (int i = 2; i < 6; ++i) {
    for (int k = 0; k < 6; ++k)
      if (k != i) a.noAlias(*all[i], *all[k], names[i], names[k]);
  }
  double dn = static_cast<double>(n);
  job->cost = kFactorWeight * 100 * dn * dn * dn;
  for (auto* x : all) job->keep(*x);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterEigGeneral(Napi::Env env, Napi::Object exports) {
  exports.Set("eigGeneral", Napi::Function::New(env, EigGeneral, "eigGeneral"));
  exports.Set("eigGeneralComplex", Napi::Function::New(env, EigGeneralComplex, "eigGeneralComplex"));
}

}  // namespace lr
