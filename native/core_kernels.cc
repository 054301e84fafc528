// Element-wise ops, transpose and norms (core.h; the bindings are in core.cc):
//   axpby / hadamard / sign: element-wise over contiguous ranges split across threads.
//   transpose: 32 x 32 tiles, threads over row tiles.
//   norm: Frobenius by a scaled sum of squares (LAPACK lassq style) in f64 per chunk of 2^15, merged in a
//     fixed order (deterministic for any thread count); max-abs with NaN propagation.
//   axisNorms: row norms by the same scaled sum per row; column norms by f64 sums of squares over fixed row
//     blocks (threads over blocks), the scaled sum only for f64 columns whose squares could under/overflow.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Scaled sum of squares (LAPACK lassq style): value = scale^2 * ssq, safe from overflow/underflow.
struct Ssq {
  double scale = 0, ssq = 1;
  void add(double v) {
    double a = std::fabs(v);
    if (a == 0) return;
    if (std::isnan(a) || std::isnan(scale)) {
      scale = std::nan("");
      return;
    }
    if (std::isinf(a) || std::isinf(scale)) {
      scale = HUGE_VAL;
      ssq = 1;
      return;
    }
    if (scale < a) {
      ssq = 1 + ssq * (scale / a) * (scale / a);
      scale = a;
    } else {
      ssq += (a / scale) * (a / scale);
    }
  }
  void merge(const Ssq& o) {
    if (o.scale == 0) return;
    if (std::isnan(o.scale) || std::isnan(scale)) {
      scale = std::nan("");
      return;
    }
    if (std::isinf(o.scale) || std::isinf(scale)) {
      scale = HUGE_VAL;
      ssq = 1;
      return;
    }  // Inf/Inf would give NaN
    if (scale < o.scale) {
      ssq = o.ssq + ssq * (scale / o.scale) * (scale / o.scale);
      scale = o.scale;
    } else {
      ssq += o.ssq * (o.scale / scale) * (o.scale / scale);
    }
  }
  double norm() const { return scale * std::sqrt(ssq); }
};

// Sum of squares of a contiguous run, accumulated in double with a max-abs pre-scale when needed.
template <class T, bool kUnit>
Ssq ssqImpl(const T* x, int64_t n, int64_t stride) {
  double mx = 0;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::fabs(static_cast<double>(x[kUnit ? i : i * stride]));
    mx = a > mx ? a : mx;  // branch-free: vectorizes for unit stride
    nan |= a != a;
  }
  Ssq s;
  if (nan) {
    s.scale = std::nan("");
    return s;
  }
  if (mx == 0) return s;
  if (std::isinf(mx)) {
    s.scale = mx;
    return s;
  }
  // In double, squares of values in [2^-400, 2^400] are safe; otherwise rescale by mx.
  if (mx < 1e-150 || mx > 1e150) {
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      double v = static_cast<double>(x[kUnit ? i : i * stride]) / mx;
      acc += v * v;
    }
    s.scale = mx;
    s.ssq = acc;
  } else {
    double acc = 0;
    for (int64_t i = 0; i < n; ++i) {
      double v = static_cast<double>(x[kUnit ? i : i * stride]);
      acc += v * v;
    }
    s.scale = mx;
    s.ssq = acc / (mx * mx);
  }
  return s;
}

template <class T>
Ssq ssqRun(const T* x, int64_t n, int64_t stride) {
  return stride == 1 ? ssqImpl<T, true>(x, n, 1) : ssqImpl<T, false>(x, n, stride);
}

}  // namespace

template <class T>
void axpby(T* o, double alpha, const T* xp, double beta, const T* yp, int64_t n, int threads) {
  T al = static_cast<T>(alpha), be = static_cast<T>(beta);
  parallelRanges(threads, n, 1 << 16, [&](int64_t b, int64_t e, int) {
    if (yp)
      for (int64_t i = b; i < e; ++i) o[i] = al * xp[i] + be * yp[i];
    else
      for (int64_t i = b; i < e; ++i) o[i] = al * xp[i];
  });
}

template <class T>
void hadamard(T* o, const T* xp, const T* yp, int64_t n, int threads) {
  parallelRanges(threads, n, 1 << 16, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) o[i] = xp[i] * yp[i];
  });
}

template <class T>
void transpose(T* o, const T* xp, int64_t m, int64_t n, int threads) {
  constexpr int64_t B = 32;
  int64_t tilesI = (m + B - 1) / B;
  parallelRanges(threads, tilesI, 4, [&](int64_t t0, int64_t t1, int) {
    for (int64_t ti = t0; ti < t1; ++ti) {
      int64_t i0 = ti * B, i1 = std::min(m, i0 + B);
      for (int64_t j0 = 0; j0 < n; j0 += B) {
        int64_t j1 = std::min(n, j0 + B);
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = j0; j < j1; ++j) o[j * m + i] = xp[i * n + j];
      }
    }
  });
}

template <class T>
void sign(T* o, const T* xp, int64_t n, int threads) {
  parallelRanges(threads, n, 1 << 16, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      T v = xp[i];
      o[i] = v > T(0) ? T(1) : (v < T(0) ? T(-1) : (v == T(0) ? T(0) : v));
    }
  });
}

template <class T>
double norm(const T* p, int64_t n, bool fro, int threads) {
  constexpr int64_t chunk = 1 << 15;
  int64_t nchunks = (n + chunk - 1) / chunk;
  std::vector<Ssq> parts(static_cast<size_t>(std::max<int64_t>(nchunks, 1)));
  std::vector<double> maxes(parts.size(), 0.0);
  parallelFor(threads, nchunks, [&](int64_t c, int) {
    int64_t b = c * chunk, e = std::min(n, b + chunk);
    if (fro) {
      parts[c] = ssqRun(p + b, e - b, 1);
    } else {
      // branch-free (vectorizes): the max ignores NaN, a separate flag records one
      T mx = 0;
      bool nan = false;
      for (int64_t i = b; i < e; ++i) {
        const T a = std::fabs(p[i]);
        mx = a > mx ? a : mx;
        nan |= a != a;
      }
      maxes[c] = nan ? std::nan("") : static_cast<double>(mx);
    }
  });
  if (fro) {
    Ssq s;
    for (auto& q : parts) s.merge(q);  // fixed order: deterministic
    return s.norm();
  }
  double mx = 0;
  for (double v : maxes) {
    if (v > mx || v != v) mx = v;
    if (mx != mx) break;
  }
  return mx;
}

template <class T>
void axisNorms(const T* p, int64_t m, int64_t n, bool cols, double* o, int threads) {
  if (!cols) {
    parallelRanges(threads, m, 64, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) o[i] = ssqRun(p + i * n, n, 1).norm();
    });
    return;
  }
  if (n <= 0) return;
  // Column norms: rows in fixed blocks (their count depends on m and n only, so the result does not depend
  // on the thread count), per block and column the plain f64 sum of squares (and the max |x|), blocks
  // merged in order. Squares of f32 values cannot overflow or underflow in f64; an f64 column whose max
  // |x| is outside [2^-480, 2^480] (its squares could) is redone by the scaled sum. NaN -> NaN, else
  // Inf -> Inf, as the scaled sum gives.
  const int64_t nb =
      std::max<int64_t>(1, std::min<int64_t>((m + 511) / 512, std::max<int64_t>(1, (int64_t{1} << 22) / n)));
  std::vector<double> sums(static_cast<size_t>(nb * n), 0.0), maxes(static_cast<size_t>(nb * n), 0.0);
  parallelFor(threads, nb, [&](int64_t b, int) {
    const int64_t i0 = m * b / nb, i1 = m * (b + 1) / nb;
    double* s = sums.data() + b * n;
    double* mx = maxes.data() + b * n;
    for (int64_t i = i0; i < i1; ++i) {
      const T* r = p + i * n;
      for (int64_t j = 0; j < n; ++j) {
        const double v = static_cast<double>(r[j]);
        s[j] += v * v;
        const double a = std::fabs(v);
        mx[j] = a > mx[j] ? a : mx[j];
      }
    }
  });
  const double lo = std::ldexp(1.0, -480), hi = std::ldexp(1.0, 480);
  for (int64_t j = 0; j < n; ++j) {
    double t = 0, big = 0;
    for (int64_t b = 0; b < nb; ++b) {
      t += sums[b * n + j];
      big = std::max(big, maxes[b * n + j]);
    }
    if (sizeof(T) == 8 && std::isfinite(big) && big > 0 && (big < lo || big > hi)) {
      Ssq q;
      for (int64_t i = 0; i < m; ++i) q.add(static_cast<double>(p[i * n + j]));
      o[j] = q.norm();
    } else {
      o[j] = std::sqrt(t);
    }
  }
}

#define LR_CORE_INSTANTIATE(T)                                                  \
  template void axpby<T>(T*, double, const T*, double, const T*, int64_t, int); \
  template void hadamard<T>(T*, const T*, const T*, int64_t, int);              \
  template void transpose<T>(T*, const T*, int64_t, int64_t, int);              \
  template void sign<T>(T*, const T*, int64_t, int);                            \
  template double norm<T>(const T*, int64_t, bool, int);                        \
  template void axisNorms<T>(const T*, int64_t, int64_t, bool, double*, int);
LR_CORE_INSTANTIATE(float)
LR_CORE_INSTANTIATE(double)
#undef LR_CORE_INSTANTIATE

}  // namespace la
}  // namespace lr
