// Group-wise quantize-dequantize (fake_quantize_kernels.cc), plain C++; the binding is in fake_quantize.cc.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// Every `gs` consecutive entries of w (the last group may be shorter) share scale = f32((max - min) / qmax)
// (a group of equal values c: f32(|c| / qmax), or f32(1 / qmax) when c = 0) and zero = f32(-min / scale);
// q = clamp(round(w / scale + zero), 0, qmax) with round ties-to-even (nearest) or floor(x + u)
// (stochastic, u element offset + i of the Philox uniform stream (k0, k1, stream) in T's layout), and
// out = scale (q - zero), all in double and rounded to T once. A group holding a non-finite entry is NaN.
template <class T>
void fakeQuantize(T* out, const T* w, int64_t n, int64_t gs, int bits, bool stochastic, uint32_t k0, uint32_t k1,
                  uint32_t stream, uint64_t offset, int threads);

}  // namespace la
}  // namespace lr
