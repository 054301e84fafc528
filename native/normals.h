// Normal variates of the documented Philox stream (README "Random numbers"), shared by randn
// (native/rng.cc) and the matrix-free Gaussian measurements (native/gaussian_apply.cc).
//
//   philoxNormals(out, len, first, key):  out[j] = normal stream element first + j, j < len
//
// Sequential (the callers parallelize over ranges). On x86 with AVX2/AVX-512 (native/isa.h,
// LOWRANK_ISA lowers it) 8 / 16 Philox blocks run at once in SIMD lanes and ln / sqrt / sincos are
// evaluated with polynomial kernels (normals_body.h); the uniforms are the same bits as the scalar
// path and the normals agree with it to a few ulps. Elsewhere the scalar path (libm) runs.
#pragma once

#include <cstdint>

namespace lr {

struct PhiloxKey {
  uint32_t k0, k1, stream;
};

void philoxNormals(float* out, int64_t len, uint64_t first, const PhiloxKey& key);
void philoxNormals(double* out, int64_t len, uint64_t first, const PhiloxKey& key);

// The portable scalar path (libm), whatever the ISA: the reference the SIMD kernels are tested against.
void philoxNormalsScalar(float* out, int64_t len, uint64_t first, const PhiloxKey& key);
void philoxNormalsScalar(double* out, int64_t len, uint64_t first, const PhiloxKey& key);

namespace nk {
// Per-ISA kernels (normals_avx2.cc, normals_avx512.cc): same contract as philoxNormals.
void normalsAvx2(float* out, int64_t len, uint64_t first, const PhiloxKey& key);
void normalsAvx2(double* out, int64_t len, uint64_t first, const PhiloxKey& key);
void normalsAvx512(float* out, int64_t len, uint64_t first, const PhiloxKey& key);
void normalsAvx512(double* out, int64_t len, uint64_t first, const PhiloxKey& key);
}  // namespace nk

}  // namespace lr
