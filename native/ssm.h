// State-space model kernels (ssm_kernels.cc), plain C++; the bindings are in ssm.cc. Row-major arrays,
// arithmetic in f64 for both element types; threads over channels / rows.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// out[h, l] (H x L) = Re sum_n w[h, n] exp(l z[h, n]); tab holds H*N rows (wRe, wIm, zRe, zIm).
template <class T>
void ssmVandermonde(const double* tab, int64_t H, int64_t N, int64_t L, T* out, int threads);

// Causal convolution y[r, :] = K[r mod H, :] * u[r, :] (+ D[r mod H] u[r, :] when D is non-null), u and y
// R x L (R a positive multiple of H), K H x L, by FFT.
template <class T>
void ssmConv(const T* u, const T* K, const double* D, int64_t R, int64_t H, int64_t L, T* y, int threads);

// x_l = a x_{l-1} + b u_l, y_l = Re sum_n c_n x_{l,n} per row r (channel r mod H); tab holds H*N rows
// (aRe, aIm, bRe, bIm, cRe, cIm).
template <class T>
void ssmScan(const T* u, const double* tab, int64_t R, int64_t H, int64_t N, int64_t L, T* y, int threads);

}  // namespace la
}  // namespace lr
