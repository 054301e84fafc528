// AVX-512 (F, VL, DQ, BW) Philox normals: 16 blocks per group (normals_body.h). Compiled with the baseline flags;
// the ISA is enabled only inside the target region, and philoxNormals calls in only when
// kernelIsa() says AVX-512 (native/normals.cc).
#include "gemm_internal.h"  // LR_GK_INLINE
#include "isa.h"
#include "normals.h"

#if LR_X86
#include <immintrin.h>

// GCC 12's AVX-512 headers build some results on _mm512_undefined_*() (a self-initialized variable),
// which -Wmaybe-uninitialized reports once those intrinsics inline here; the warning is spurious.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <cstdint>

LR_TARGET_AVX512_BEGIN

namespace lr {
namespace nk {
namespace avx512 {

struct Traits {
  static constexpr int L = 16;
  using VI = __m512i;
  using VF = __m512;
  using VD = __m512d;
  using VQ = __m512i;
  // u32 lanes
  static LR_GK_INLINE VI load(const uint32_t* p) { return _mm512_load_si512(p); }
  static LR_GK_INLINE void store(uint32_t* p, VI v) { _mm512_store_si512(p, v); }
  static LR_GK_INLINE VI set1(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static LR_GK_INLINE VI add32(VI a, VI b) { return _mm512_add_epi32(a, b); }
  static LR_GK_INLINE VI sub32(VI a, VI b) { return _mm512_sub_epi32(a, b); }
  static LR_GK_INLINE VI and32(VI a, VI b) { return _mm512_and_si512(a, b); }
  static LR_GK_INLINE VI xor32(VI a, VI b) { return _mm512_xor_si512(a, b); }
  static LR_GK_INLINE VI srl32(VI a, int n) { return _mm512_srli_epi32(a, n); }
  static LR_GK_INLINE VI sll32(VI a, int n) { return _mm512_slli_epi32(a, n); }
  // hi:lo = a * m per u32 lane: even lanes from one 32x32->64 product, odd lanes from another.
  static LR_GK_INLINE void mulhilo(VI a, VI m, VI& hi, VI& lo) {
    const __m512i pe = _mm512_mul_epu32(a, m);
    const __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
    lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
  }
  // f32 lanes
  static LR_GK_INLINE VF set1f(float x) { return _mm512_set1_ps(x); }
  static LR_GK_INLINE VF addf(VF a, VF b) { return _mm512_add_ps(a, b); }
  static LR_GK_INLINE VF subf(VF a, VF b) { return _mm512_sub_ps(a, b); }
  static LR_GK_INLINE VF mulf(VF a, VF b) { return _mm512_mul_ps(a, b); }
  static LR_GK_INLINE VF divf(VF a, VF b) { return _mm512_div_ps(a, b); }
  static LR_GK_INLINE VF fmaf(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
  static LR_GK_INLINE VF sqrtf(VF a) { return _mm512_sqrt_ps(a); }
  static LR_GK_INLINE VF cvtf(VI a) { return _mm512_cvtepi32_ps(a); }
  static LR_GK_INLINE VI castfi(VF a) { return _mm512_castps_si512(a); }
  static LR_GK_INLINE VF castif(VI a) { return _mm512_castsi512_ps(a); }
  static LR_GK_INLINE VF xorf(VF a, VI bits) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), bits));
  }
  static LR_GK_INLINE VF blendOddF(VI q, VF a, VF b) {
    return _mm512_mask_blend_ps(_mm512_test_epi32_mask(q, _mm512_set1_epi32(1)), a, b);
  }
  // p[4 j + k] = v_k[j] (unaligned): 4 x 16 transpose
  static LR_GK_INLINE void storeInterleave4(float* p, VF a, VF b, VF c, VF d) {
    const __m512 ab0 = _mm512_unpacklo_ps(a, b), ab1 = _mm512_unpackhi_ps(a, b);
    const __m512 cd0 = _mm512_unpacklo_ps(c, d), cd1 = _mm512_unpackhi_ps(c, d);
    // r_i: blocks i, i + 4, i + 8, i + 12, each 128-bit lane one block's 4 values
    const __m512 r0 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab0), _mm512_castps_pd(cd0)));
    const __m512 r1 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab0), _mm512_castps_pd(cd0)));
    const __m512 r2 = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab1), _mm512_castps_pd(cd1)));
    const __m512 r3 = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab1), _mm512_castps_pd(cd1)));
    const __m512 t0 = _mm512_shuffle_f32x4(r0, r1, 0x44), t1 = _mm512_shuffle_f32x4(r2, r3, 0x44);
    const __m512 t2 = _mm512_shuffle_f32x4(r0, r1, 0xEE), t3 = _mm512_shuffle_f32x4(r2, r3, 0xEE);
    _mm512_storeu_ps(p, _mm512_shuffle_f32x4(t0, t1, 0x88));
    _mm512_storeu_ps(p + 16, _mm512_shuffle_f32x4(t0, t1, 0xDD));
    _mm512_storeu_ps(p + 32, _mm512_shuffle_f32x4(t2, t3, 0x88));
    _mm512_storeu_ps(p + 48, _mm512_shuffle_f32x4(t2, t3, 0xDD));
  }
  // f64 / u64 lanes
  static LR_GK_INLINE VQ widen(const uint32_t* p) {
    return _mm512_cvtepu32_epi64(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static LR_GK_INLINE VQ set1q(uint64_t x) { return _mm512_set1_epi64(static_cast<long long>(x)); }
  static LR_GK_INLINE VQ add64(VQ a, VQ b) { return _mm512_add_epi64(a, b); }
  static LR_GK_INLINE VQ sub64(VQ a, VQ b) { return _mm512_sub_epi64(a, b); }
  static LR_GK_INLINE VQ and64(VQ a, VQ b) { return _mm512_and_si512(a, b); }
  static LR_GK_INLINE VQ or64(VQ a, VQ b) { return _mm512_or_si512(a, b); }
  static LR_GK_INLINE VQ srl64(VQ a, int n) { return _mm512_srli_epi64(a, n); }
  static LR_GK_INLINE VQ sll64(VQ a, int n) { return _mm512_slli_epi64(a, n); }
  static LR_GK_INLINE VD set1d(double x) { return _mm512_set1_pd(x); }
  static LR_GK_INLINE VD addd(VD a, VD b) { return _mm512_add_pd(a, b); }
  static LR_GK_INLINE VD subd(VD a, VD b) { return _mm512_sub_pd(a, b); }
  static LR_GK_INLINE VD muld(VD a, VD b) { return _mm512_mul_pd(a, b); }
  static LR_GK_INLINE VD divd(VD a, VD b) { return _mm512_div_pd(a, b); }
  static LR_GK_INLINE VD fmad(VD a, VD b, VD c) { return _mm512_fmadd_pd(a, b, c); }
  static LR_GK_INLINE VD sqrtd(VD a) { return _mm512_sqrt_pd(a); }
  static LR_GK_INLINE VQ castdi(VD a) { return _mm512_castpd_si512(a); }
  static LR_GK_INLINE VD castid(VQ a) { return _mm512_castsi512_pd(a); }
  static LR_GK_INLINE VD xord(VD a, VQ bits) {
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), bits));
  }
  static LR_GK_INLINE VD blendOddD(VQ q, VD a, VD b) {
    return _mm512_mask_blend_pd(_mm512_test_epi64_mask(q, _mm512_set1_epi64(1)), a, b);
  }
  // p[2 j] = a[j], p[2 j + 1] = b[j] (unaligned)
  static LR_GK_INLINE void storeInterleave2(double* p, VD a, VD b) {
    const __m512d lo = _mm512_unpacklo_pd(a, b),
                  hi = _mm512_unpackhi_pd(a, b);  // (a0 b0 | a2 b2 | ..), (a1 b1 | a3 b3 | ..)
    _mm512_storeu_pd(p, _mm512_permutex2var_pd(lo, _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), hi));
    _mm512_storeu_pd(p + 8, _mm512_permutex2var_pd(lo, _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15), hi));
  }
};

using V = Traits;
#include "normals_body.h"

}  // namespace avx512
}  // namespace nk
}  // namespace lr

LR_TARGET_END

namespace lr {
namespace nk {
void normalsAvx512(float* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  avx512::normalsF32(out, len, first, key);
}
void normalsAvx512(double* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  avx512::normalsF64(out, len, first, key);
}
}  // namespace nk
}  // namespace lr

#else

namespace lr {
namespace nk {
void normalsAvx512(float* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  philoxNormalsScalar(out, len, first, key);
}
void normalsAvx512(double* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  philoxNormalsScalar(out, len, first, key);
}
}  // namespace nk
}  // namespace lr

#endif
