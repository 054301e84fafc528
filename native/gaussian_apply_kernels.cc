// Matrix-free Gaussian measurements for robust matrix sensing (SubGM): the algorithms of the gaussianApply
// and gaussianAdjoint exports (gaussian_apply.h; the bindings are in gaussian_apply.cc).
//
// The measurement matrix A (m x N) is never stored: A[i, e] is element offset + i N + e of the Philox
// normal stream of (seed, stream), i.e. exactly the entry engine.randn(m, N, { seed, offset }) holds
// (same transform as native/rng.cc: f32 Box-Muller on 4 words per block, f64 on 2 uniforms per block).
//
//   gaussianApply
//     out[i] = sum_e A[i, e] x[e]        (x: N, out: m)
//   gaussianAdjoint
//     out[e] = sum_i A[i, e] r[i]        (r: m, out: N)
//
// Both products regenerate every entry of A once per call, so they are bound by the generator (see
// native/normals.h), not by memory. apply owns one measurement per task; the adjoint owns a
// block of entries per task and walks all measurements, so every output is accumulated by one thread
// in a fixed order (in double): results do not depend on the thread count.
#include <algorithm>
#include <vector>

#include "gaussian_apply.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// out[j] = normal stream element first + j for j < len (sequential; the transform of randn).
template <class T>
inline void normalSegment(T* out, int64_t len, uint64_t first, const PhiloxKey& s) {
  philoxNormals(out, len, first, s);
}

constexpr int64_t kChunk = 1024;  // normals generated per segment (a multiple of 8)

}  // namespace

template <class T>
void gaussianApply(const T* x, int64_t m, int64_t n, const PhiloxKey& s, uint64_t offset, T* y, int threads) {
  const int64_t rowsPerTask = std::max<int64_t>(1, (64 * 1024) / std::max<int64_t>(n, 1));
  const int64_t tasks = (m + rowsPerTask - 1) / rowsPerTask;
  parallelFor(threads, tasks, [&](int64_t t, int) {
    std::vector<T> buf(static_cast<size_t>(std::min(n, kChunk)));
    const int64_t i1 = std::min(m, (t + 1) * rowsPerTask);
    for (int64_t i = t * rowsPerTask; i < i1; ++i) {
      const uint64_t row = offset + static_cast<uint64_t>(i) * static_cast<uint64_t>(n);
      // 8 partial sums (entry e goes to sum e mod 8; kChunk is a multiple of 8), added in a fixed
      // order: independent add chains, and the same result for every thread count.
      double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
        const int64_t len = std::min(kChunk, n - c0);
        normalSegment<T>(buf.data(), len, row + static_cast<uint64_t>(c0), s);
        const T* xc = x + c0;
        int64_t j = 0;
        for (; j + 8 <= len; j += 8)
          for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(buf[j + l]) * static_cast<double>(xc[j + l]);
        for (int l = 0; j < len; ++j, ++l) acc[l] += static_cast<double>(buf[j]) * static_cast<double>(xc[j]);
      }
      y[i] = static_cast<T>(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
    }
  });
}

template <class T>
void gaussianAdjoint(const T* r, int64_t m, int64_t n, const PhiloxKey& s, uint64_t offset, T* z, int threads) {
  // Entry blocks: small enough to give every thread work, large enough to waste little of the
  // partial Philox blocks at segment ends.
  const int64_t want = (n + 4 * static_cast<int64_t>(threads) - 1) / (4 * static_cast<int64_t>(threads));
  const int64_t chunk = std::min(kChunk, std::max<int64_t>(128, want));
  const int64_t tasks = (n + chunk - 1) / chunk;
  parallelFor(threads, tasks, [&](int64_t t, int) {
    const int64_t e0 = t * chunk, len = std::min(chunk, n - e0);
    std::vector<T> buf(static_cast<size_t>(len));
    std::vector<double> acc(static_cast<size_t>(len), 0.0);
    for (int64_t i = 0; i < m; ++i) {
      const double ri = static_cast<double>(r[i]);
      normalSegment<T>(buf.data(), len,
                       offset + static_cast<uint64_t>(i) * static_cast<uint64_t>(n) + static_cast<uint64_t>(e0), s);
      for (int64_t j = 0; j < len; ++j) acc[j] += ri * static_cast<double>(buf[j]);
    }
    for (int64_t j = 0; j < len; ++j) z[e0 + j] = static_cast<T>(acc[j]);
  });
}

template void gaussianApply<float>(const float*, int64_t, int64_t, const PhiloxKey&, uint64_t, float*, int);
template void gaussianApply<double>(const double*, int64_t, int64_t, const PhiloxKey&, uint64_t, double*, int);
template void gaussianAdjoint<float>(const float*, int64_t, int64_t, const PhiloxKey&, uint64_t, float*, int);
template void gaussianAdjoint<double>(const double*, int64_t, int64_t, const PhiloxKey&, uint64_t, double*, int);

}  // namespace la
}  // namespace lr
