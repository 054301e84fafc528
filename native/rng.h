// rand / randn fills over the documented Philox stream (rng_kernels.cc), plain C++; the binding is in
// rng.cc. key = (k0, k1), counter = (block mod 2^32, block div 2^32, stream, 0); out[i] is stream
// element offset + i (64-bit element index, arithmetic mod 2^64).
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// Uniforms in (0, 1): f32 from one word, f64 from two (52 bits).
void fillUniform(float* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads);
void fillUniform(double* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads);

// Standard normals (Box-Muller in the element type; philoxNormals).
template <class T>
void fillNormal(T* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads);

}  // namespace la
}  // namespace lr
