// AVX2 + FMA Philox normals: 8 blocks per group (normals_body.h). Compiled with the baseline flags;
// the ISA is enabled only inside the target region, and philoxNormals calls in only when
// kernelIsa() says AVX2 (native/normals.cc).
#include "gemm_internal.h"  // LR_GK_INLINE
#include "isa.h"
#include "normals.h"

#if LR_X86
#include <immintrin.h>

#include <cstdint>

LR_TARGET_AVX2_BEGIN

namespace lr {
namespace nk {
namespace avx2 {

struct Traits {
  static constexpr int L = 8;
  using VI = __m256i;
  using VF = __m256;
  using VD = __m256d;
  using VQ = __m256i;
  // u32 lanes
  static LR_GK_INLINE VI load(const uint32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
  static LR_GK_INLINE void store(uint32_t* p, VI v) { _mm256_store_si256(reinterpret_cast<__m256i*>(p), v); }
  static LR_GK_INLINE VI set1(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
  static LR_GK_INLINE VI add32(VI a, VI b) { return _mm256_add_epi32(a, b); }
  static LR_GK_INLINE VI sub32(VI a, VI b) { return _mm256_sub_epi32(a, b); }
  static LR_GK_INLINE VI and32(VI a, VI b) { return _mm256_and_si256(a, b); }
  static LR_GK_INLINE VI xor32(VI a, VI b) { return _mm256_xor_si256(a, b); }
  static LR_GK_INLINE VI srl32(VI a, int n) { return _mm256_srli_epi32(a, n); }
  static LR_GK_INLINE VI sll32(VI a, int n) { return _mm256_slli_epi32(a, n); }
  // hi:lo = a * m per u32 lane: even lanes from one 32x32->64 product, odd lanes from another.
  static LR_GK_INLINE void mulhilo(VI a, VI m, VI& hi, VI& lo) {
    const __m256i pe = _mm256_mul_epu32(a, m);
    const __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  }
  // f32 lanes
  static LR_GK_INLINE VF set1f(float x) { return _mm256_set1_ps(x); }
  static LR_GK_INLINE VF addf(VF a, VF b) { return _mm256_add_ps(a, b); }
  static LR_GK_INLINE VF subf(VF a, VF b) { return _mm256_sub_ps(a, b); }
  static LR_GK_INLINE VF mulf(VF a, VF b) { return _mm256_mul_ps(a, b); }
  static LR_GK_INLINE VF divf(VF a, VF b) { return _mm256_div_ps(a, b); }
  static LR_GK_INLINE VF fmaf(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
  static LR_GK_INLINE VF sqrtf(VF a) { return _mm256_sqrt_ps(a); }
  static LR_GK_INLINE VF cvtf(VI a) { return _mm256_cvtepi32_ps(a); }
  static LR_GK_INLINE VI castfi(VF a) { return _mm256_castps_si256(a); }
  static LR_GK_INLINE VF castif(VI a) { return _mm256_castsi256_ps(a); }
  static LR_GK_INLINE VF xorf(VF a, VI bits) { return _mm256_xor_ps(a, _mm256_castsi256_ps(bits)); }
  static LR_GK_INLINE VF blendOddF(VI q, VF a, VF b) {
    return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(_mm256_slli_epi32(q, 31)));
  }
  // p[4 j + k] = v_k[j] (unaligned): 4 x 8 transpose
  static LR_GK_INLINE void storeInterleave4(float* p, VF a, VF b, VF c, VF d) {
    const __m256 ab0 = _mm256_unpacklo_ps(a, b), ab1 = _mm256_unpackhi_ps(a, b);
    const __m256 cd0 = _mm256_unpacklo_ps(c, d), cd1 = _mm256_unpackhi_ps(c, d);
    // r_i: blocks i and i + 4, each 128-bit half one block's 4 values
    const __m256 r0 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab0), _mm256_castps_pd(cd0)));
    const __m256 r1 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab0), _mm256_castps_pd(cd0)));
    const __m256 r2 = _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(ab1), _mm256_castps_pd(cd1)));
    const __m256 r3 = _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(ab1), _mm256_castps_pd(cd1)));
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(r0, r1, 0x20));
    _mm256_storeu_ps(p + 8, _mm256_permute2f128_ps(r2, r3, 0x20));
    _mm256_storeu_ps(p + 16, _mm256_permute2f128_ps(r0, r1, 0x31));
    _mm256_storeu_ps(p + 24, _mm256_permute2f128_ps(r2, r3, 0x31));
  }
  // f64 / u64 lanes
  static LR_GK_INLINE VQ widen(const uint32_t* p) {
    return _mm256_cvtepu32_epi64(_mm_load_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static LR_GK_INLINE VQ set1q(uint64_t x) { return _mm256_set1_epi64x(static_cast<long long>(x)); }
  static LR_GK_INLINE VQ add64(VQ a, VQ b) { return _mm256_add_epi64(a, b); }
  static LR_GK_INLINE VQ sub64(VQ a, VQ b) { return _mm256_sub_epi64(a, b); }
  static LR_GK_INLINE VQ and64(VQ a, VQ b) { return _mm256_and_si256(a, b); }
  static LR_GK_INLINE VQ or64(VQ a, VQ b) { return _mm256_or_si256(a, b); }
  static LR_GK_INLINE VQ srl64(VQ a, int n) { return _mm256_srli_epi64(a, n); }
  static LR_GK_INLINE VQ sll64(VQ a, int n) { return _mm256_slli_epi64(a, n); }
  static LR_GK_INLINE VD set1d(double x) { return _mm256_set1_pd(x); }
  static LR_GK_INLINE VD addd(VD a, VD b) { return _mm256_add_pd(a, b); }
  static LR_GK_INLINE VD subd(VD a, VD b) { return _mm256_sub_pd(a, b); }
  static LR_GK_INLINE VD muld(VD a, VD b) { return _mm256_mul_pd(a, b); }
  static LR_GK_INLINE VD divd(VD a, VD b) { return _mm256_div_pd(a, b); }
  static LR_GK_INLINE VD fmad(VD a, VD b, VD c) { return _mm256_fmadd_pd(a, b, c); }
  static LR_GK_INLINE VD sqrtd(VD a) { return _mm256_sqrt_pd(a); }
  static LR_GK_INLINE VQ castdi(VD a) { return _mm256_castpd_si256(a); }
  static LR_GK_INLINE VD castid(VQ a) { return _mm256_castsi256_pd(a); }
  static LR_GK_INLINE VD xord(VD a, VQ bits) { return _mm256_xor_pd(a, _mm256_castsi256_pd(bits)); }
  static LR_GK_INLINE VD blendOddD(VQ q, VD a, VD b) {
    return _mm256_blendv_pd(a, b, _mm256_castsi256_pd(_mm256_slli_epi64(q, 63)));
  }
  // p[2 j] = a[j], p[2 j + 1] = b[j] (unaligned)
  static LR_GK_INLINE void storeInterleave2(double* p, VD a, VD b) {
    const __m256d lo = _mm256_unpacklo_pd(a, b), hi = _mm256_unpackhi_pd(a, b);
    _mm256_storeu_pd(p, _mm256_permute2f128_pd(lo, hi, 0x20));
    _mm256_storeu_pd(p + 4, _mm256_permute2f128_pd(lo, hi, 0x31));
  }
};

using V = Traits;
#include "normals_body.h"

}  // namespace avx2
}  // namespace nk
}  // namespace lr

LR_TARGET_END

namespace lr {
namespace nk {
void normalsAvx2(float* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  avx2::normalsF32(out, len, first, key);
}
void normalsAvx2(double* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  avx2::normalsF64(out, len, first, key);
}
}  // namespace nk
}  // namespace lr

#else

namespace lr {
namespace nk {
void normalsAvx2(float* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  philoxNormalsScalar(out, len, first, key);
}
void normalsAvx2(double* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  philoxNormalsScalar(out, len, first, key);
}
}  // namespace nk
}  // namespace lr

#endif
