// Group-wise quantize-dequantize (fake_quantize.h; the binding is in fake_quantize.cc): groups split
// across threads, each group in two passes (min / max, then the rounding).
#include <algorithm>
#include <cmath>
#include <limits>

#include "fake_quantize.h"
#include "philox.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Uniform element e of the stream in T's layout (as rand: f32 one word of a 4-word block, f64 two words).
struct Uniforms {
  uint32_t k0, k1, stream;
  uint64_t cached = ~uint64_t{0};
  Philox4 r{};
  const Philox4& block(uint64_t b) {
    if (b != cached) {
      r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), stream, 0, k0, k1);
      cached = b;
    }
    return r;
  }
  double at(uint64_t e, float) { return u32ToUnitF32(block(e / 4).v[e % 4]); }
  double at(uint64_t e, double) {
    const Philox4& x = block(e / 2);
    int j = static_cast<int>(e % 2);
    return u32x2ToUnitF64(x.v[2 * j], x.v[2 * j + 1]);
  }
};

}  // namespace

template <class T>
void fakeQuantize(T* out, const T* w, int64_t n, int64_t gs, int bits, bool stochastic, uint32_t k0, uint32_t k1,
                  uint32_t stream, uint64_t offset, int threads) {
  const int64_t groups = (n + gs - 1) / gs;
  const double qmax = static_cast<double>((1 << bits) - 1);
  const int64_t minChunk = gs >= (1 << 14) ? 1 : (1 << 14) / gs;
  parallelRanges(threads, groups, minChunk, [&](int64_t g0, int64_t g1, int) {
    Uniforms un{k0, k1, stream};
    for (int64_t g = g0; g < g1; ++g) {
      const int64_t a = g * gs, b = std::min(n, a + gs);
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      bool finite = true;
      for (int64_t i = a; i < b; ++i) {
        double v = static_cast<double>(w[i]);
        if (!std::isfinite(v)) finite = false;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      if (!finite) {
        for (int64_t i = a; i < b; ++i) out[i] = std::numeric_limits<T>::quiet_NaN();
        continue;
      }
      const double s = static_cast<float>(hi > lo ? (hi - lo) / qmax : (lo != 0 ? std::fabs(lo) : 1.0) / qmax);
      const double z = static_cast<float>(-lo / s);
      for (int64_t i = a; i < b; ++i) {
        double x = static_cast<double>(w[i]) / s + z, q;
        if (stochastic) {
          double f = std::floor(x);
          q = f + (un.at(offset + static_cast<uint64_t>(i), T{}) < x - f ? 1.0 : 0.0);
        } else {
          q = std::nearbyint(x);  // ties to even (default rounding mode)
        }
        q = std::min(qmax, std::max(0.0, q));
        out[i] = static_cast<T>(s * (q - z));
      }
    }
  });
}

template void fakeQuantize<float>(float*, const float*, int64_t, int64_t, int, bool, uint32_t, uint32_t, uint32_t,
                                  uint64_t, int);
template void fakeQuantize<double>(double*, const double*, int64_t, int64_t, int, bool, uint32_t, uint32_t, uint32_t,
                                   uint64_t, int);

}  // namespace la
}  // namespace lr
