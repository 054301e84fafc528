// State-space model kernels (ssm.kernel / ssm.conv / ssm.scan; ssm.h, the bindings are in ssm.cc):
//   ssmVandermonde: K[h, l] = Re sum_n w[h, n] exp(l z[h, n]) for l < L, from a table of (w, z) per (h, n).
//     Blocked powers: exp(l0 z) is formed directly (exp, cos, sin in f64) at the start of every block of
//     kBlock steps, then p <- p exp(z) inside the block, so the phase error stays at a few ulps of f64 for
//     any L (no accumulation over the whole sequence). Computed in f64 for both output dtypes.
//   ssmConv: causal convolution y[r, :] = K[r mod H, :] * u[r, :] (+ D[r mod H] u[r, :]) by FFT:
//     zero-padding to n = 2^k >= 2L, two real rows of the same channel packed in one complex FFT
//     (u_a + i u_b), pointwise multiply by the channel's kernel spectrum, one inverse FFT gives
//     y_a + i y_b. Iterative radix-2 FFT in f64 with a precomputed twiddle table; threads over channels.
//   ssmScan: the recurrence x_l = a x_{l-1} + b u_l, y_l = Re sum_n c_n x_{l,n}, complex diagonal state,
//     evaluated sequentially per row in f64 (threads over rows); the device version is an associative scan.
#include <algorithm>
#include <cmath>
#include <complex>
#include <vector>

#include "ssm.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

using cd = std::complex<double>;
constexpr int64_t kBlock = 64;

// Plain complex product (std::complex's operator* goes through the C99 Annex G NaN/Inf recovery,
// __muldc3, which is several times slower; here a NaN input simply gives NaN).
inline cd mul(cd a, cd b) {
  return cd(a.real() * b.real() - a.imag() * b.imag(), a.real() * b.imag() + a.imag() * b.real());
}
constexpr int64_t kChunk = 2048;

// Modes advanced together in the inner loop: independent recurrences hide the multiply latency and
// vectorize (a single p <- p z chain is latency-bound).
constexpr int64_t kGroup = 8;

// In-place iterative radix-2 FFT of length n (power of two); tw[k] = exp(-2 pi i k / n), k < n / 2.
void fft(cd* x, int64_t n, const std::vector<cd>& tw, bool inverse) {
  for (int64_t i = 1, j = 0; i < n; ++i) {
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(x[i], x[j]);
  }
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t half = len >> 1, stride = n / len;
    for (int64_t s = 0; s < n; s += len) {
      for (int64_t k = 0; k < half; ++k) {
        cd w = tw[k * stride];
        if (inverse) w = std::conj(w);
        const cd t = mul(w, x[s + k + half]);
        x[s + k + half] = x[s + k] - t;
        x[s + k] += t;
      }
    }
  }
}

}  // namespace

template <class T>
void ssmVandermonde(const double* tab, int64_t H, int64_t N, int64_t L, T* out, int threads) {
  const int64_t chunks = (L + kChunk - 1) / kChunk;
  parallelFor(threads, H * chunks, [&](int64_t task, int) {
    const int64_t h = task / chunks, l0 = (task % chunks) * kChunk, l1 = std::min(L, l0 + kChunk);
    std::vector<double> acc(static_cast<size_t>(l1 - l0), 0.0);
    double* a = acc.data() - l0;
    for (int64_t n0 = 0; n0 < N; n0 += kGroup) {
      double wr[kGroup], wi[kGroup], zr[kGroup], zi[kGroup], sr[kGroup], si[kGroup], pr[kGroup], pi[kGroup];
      for (int64_t g = 0; g < kGroup; ++g) {
        const bool in = n0 + g < N;
        const double* e = tab + 4 * (h * N + (in ? n0 + g : n0));
        wr[g] = in ? e[0] : 0.0;
        wi[g] = in ? e[1] : 0.0;
        zr[g] = e[2];
        zi[g] = e[3];
        const cd step = std::exp(cd(zr[g], zi[g]));
        sr[g] = step.real();
        si[g] = step.imag();
      }
      for (int64_t b = l0; b < l1; b += kBlock) {
        const double fb = static_cast<double>(b);
        for (int64_t g = 0; g < kGroup; ++g) {
          const double m = std::exp(fb * zr[g]);
          pr[g] = m * std::cos(fb * zi[g]);
          pi[g] = m * std::sin(fb * zi[g]);
        }
        const int64_t e1 = std::min(l1, b + kBlock);
        for (int64_t l = b; l < e1; ++l) {
          double s = 0;
          for (int64_t g = 0; g < kGroup; ++g) {
            s += wr[g] * pr[g] - wi[g] * pi[g];
            const double t = pr[g] * sr[g] - pi[g] * si[g];
            pi[g] = pr[g] * si[g] + pi[g] * sr[g];
            pr[g] = t;
          }
          a[l] += s;
        }
      }
    }
    for (int64_t l = l0; l < l1; ++l) out[h * L + l] = static_cast<T>(acc[l - l0]);
  });
}

template <class T>
void ssmConv(const T* u, const T* K, const double* D, int64_t R, int64_t H, int64_t L, T* y, int threads) {
  int64_t n = 1;
  while (n < 2 * L) n <<= 1;
  std::vector<cd> tw(static_cast<size_t>(std::max<int64_t>(n / 2, 1)));
  for (int64_t k = 0; k < n / 2; ++k) {
    const double ang = -2.0 * M_PI * static_cast<double>(k) / static_cast<double>(n);
    tw[k] = cd(std::cos(ang), std::sin(ang));
  }
  const int64_t batch = R / H, pairs = (batch + 1) / 2;
  const double inv = 1.0 / static_cast<double>(n);
  // Tasks: (channel, group of pairs); the channel's spectrum is recomputed per task (cheap vs the rows).
  const int64_t perTask = std::max<int64_t>(1, std::min<int64_t>(pairs, 8));
  const int64_t groups = (pairs + perTask - 1) / perTask;
  parallelFor(threads, H * groups, [&](int64_t task, int) {
    const int64_t h = task / groups, p0 = (task % groups) * perTask, p1 = std::min(pairs, p0 + perTask);
    std::vector<cd> kf(static_cast<size_t>(n), cd(0, 0)), z(static_cast<size_t>(n));
    for (int64_t l = 0; l < L; ++l) kf[l] = cd(static_cast<double>(K[h * L + l]), 0.0);
    fft(kf.data(), n, tw, false);
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t ra = (2 * p) * H + h, rb = (2 * p + 1) * H + h;
      const bool hasB = 2 * p + 1 < batch;
      std::fill(z.begin(), z.end(), cd(0, 0));
      for (int64_t l = 0; l < L; ++l)
        z[l] = cd(static_cast<double>(u[ra * L + l]), hasB ? static_cast<double>(u[rb * L + l]) : 0.0);
      fft(z.data(), n, tw, false);
      for (int64_t k = 0; k < n; ++k) z[k] = mul(z[k], kf[k]);
      fft(z.data(), n, tw, true);
      const double d = D ? D[h] : 0.0;
      for (int64_t l = 0; l < L; ++l) {
        y[ra * L + l] = static_cast<T>(z[l].real() * inv + d * static_cast<double>(u[ra * L + l]));
        if (hasB) y[rb * L + l] = static_cast<T>(z[l].imag() * inv + d * static_cast<double>(u[rb * L + l]));
      }
    }
  });
}

template <class T>
void ssmScan(const T* u, const double* tab, int64_t R, int64_t H, int64_t N, int64_t L, T* y, int threads) {
  parallelFor(threads, R, [&](int64_t r, int) {
    const int64_t h = r % H;
    const double* e = tab + 6 * h * N;
    std::vector<cd> x(static_cast<size_t>(N), cd(0, 0)), a(static_cast<size_t>(N)), b(static_cast<size_t>(N)),
        c(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      a[n] = cd(e[6 * n], e[6 * n + 1]);
      b[n] = cd(e[6 * n + 2], e[6 * n + 3]);
      c[n] = cd(e[6 * n + 4], e[6 * n + 5]);
    }
    for (int64_t l = 0; l < L; ++l) {
      const double ul = static_cast<double>(u[r * L + l]);
      double acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        x[n] = mul(a[n], x[n]) + b[n] * ul;
        acc += c[n].real() * x[n].real() - c[n].imag() * x[n].imag();
      }
      y[r * L + l] = static_cast<T>(acc);
    }
  });
}

template void ssmVandermonde<float>(const double*, int64_t, int64_t, int64_t, float*, int);
template void ssmVandermonde<double>(const double*, int64_t, int64_t, int64_t, double*, int);
template void ssmConv<float>(const float*, const float*, const double*, int64_t, int64_t, int64_t, float*, int);
template void ssmConv<double>(const double*, const double*, const double*, int64_t, int64_t, int64_t, double*, int);
template void ssmScan<float>(const float*, const double*, int64_t, int64_t, int64_t, int64_t, float*, int);
template void ssmScan<double>(const double*, const double*, int64_t, int64_t, int64_t, int64_t, double*, int);

}  // namespace la
}  // namespace lr
