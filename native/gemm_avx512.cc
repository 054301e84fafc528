// AVX-512 GEMM kernels: f32 32x12 (2 zmm x 12 columns), f64 16x12, i.e. 24 accumulators each.
// Compiled with the baseline flags; the ISA is enabled only inside the target region below, and the
// driver calls in only after __builtin_cpu_supports() said yes (see gemm_driver.cc).
#include "isa.h"
#include "gemm_internal.h"

#if LR_X86
#include <immintrin.h>

#include <cstdint>

LR_TARGET_AVX512_BEGIN

namespace lr {
namespace gk {
namespace avx512 {

struct Vs {
  using T = float;
  using R = __m512;
  using G = __m512;
  static constexpr int W = 16, BG = 1;
  static LR_GK_INLINE R zero() { return _mm512_setzero_ps(); }
  static LR_GK_INLINE R load(const T* p) { return _mm512_load_ps(p); }
  static LR_GK_INLINE R loadu(const T* p) { return _mm512_loadu_ps(p); }
  static LR_GK_INLINE void storeu(T* p, R v) { _mm512_storeu_ps(p, v); }
  static LR_GK_INLINE R set1(T x) { return _mm512_set1_ps(x); }
  static LR_GK_INLINE G group(const T* p) { return _mm512_set1_ps(*p); }
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int) { return _mm512_fmadd_ps(a, g, c); }
  static LR_GK_INLINE R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static LR_GK_INLINE R add(R a, R b) { return _mm512_add_ps(a, b); }
  static LR_GK_INLINE __mmask16 mask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static LR_GK_INLINE R loadp(const T* p, int n) { return _mm512_maskz_loadu_ps(mask(n), p); }
  static LR_GK_INLINE void storep(T* p, R v, int n) { _mm512_mask_storeu_ps(p, mask(n), v); }
  // (Not _mm512_reduce_add_ps: GCC 12 warns about its undefined-vector temporaries.)
  static LR_GK_INLINE T hsum(R v) {
    const __m256 h = _mm256_add_ps(_mm512_maskz_extractf32x8_ps(0xFF, v, 0), _mm512_maskz_extractf32x8_ps(0xFF, v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static constexpr bool kTrans4 = true;
  static constexpr int kUnrollK = 1;
  static LR_GK_INLINE void trans4(const T* s, int64_t ld, T* d, int64_t dld, T alpha) {
    const __m128 al = _mm_set1_ps(alpha);
    __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + ld), r2 = _mm_loadu_ps(s + 2 * ld),
           r3 = _mm_loadu_ps(s + 3 * ld);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(d, _mm_mul_ps(r0, al));
    _mm_storeu_ps(d + dld, _mm_mul_ps(r1, al));
    _mm_storeu_ps(d + 2 * dld, _mm_mul_ps(r2, al));
    _mm_storeu_ps(d + 3 * dld, _mm_mul_ps(r3, al));
  }
};

struct Vd {
  using T = double;
  using R = __m512d;
  using G = __m512d;
  static constexpr int W = 8, BG = 1;
  static LR_GK_INLINE R zero() { return _mm512_setzero_pd(); }
  static LR_GK_INLINE R load(const T* p) { return _mm512_load_pd(p); }
  static LR_GK_INLINE R loadu(const T* p) { return _mm512_loadu_pd(p); }
  static LR_GK_INLINE void storeu(T* p, R v) { _mm512_storeu_pd(p, v); }
  static LR_GK_INLINE R set1(T x) { return _mm512_set1_pd(x); }
  static LR_GK_INLINE G group(const T* p) { return _mm512_set1_pd(*p); }
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int) { return _mm512_fmadd_pd(a, g, c); }
  static LR_GK_INLINE R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static LR_GK_INLINE R add(R a, R b) { return _mm512_add_pd(a, b); }
  static LR_GK_INLINE __mmask8 mask(int n) { return static_cast<__mmask8>((1u << n) - 1u); }
  static LR_GK_INLINE R loadp(const T* p, int n) { return _mm512_maskz_loadu_pd(mask(n), p); }
  static LR_GK_INLINE void storep(T* p, R v, int n) { _mm512_mask_storeu_pd(p, mask(n), v); }
  static LR_GK_INLINE T hsum(R v) {
    const __m256d h = _mm256_add_pd(_mm512_maskz_extractf64x4_pd(0xF, v, 0), _mm512_maskz_extractf64x4_pd(0xF, v, 1));
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static constexpr bool kTrans4 = true;
  static constexpr int kUnrollK = 1;
  static LR_GK_INLINE void trans4(const T* s, int64_t ld, T* d, int64_t dld, T alpha) {
    const __m256d al = _mm256_set1_pd(alpha);
    const __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + ld), r2 = _mm256_loadu_pd(s + 2 * ld),
                  r3 = _mm256_loadu_pd(s + 3 * ld);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
    const __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_storeu_pd(d, _mm256_mul_pd(_mm256_permute2f128_pd(t0, t2, 0x20), al));
    _mm256_storeu_pd(d + dld, _mm256_mul_pd(_mm256_permute2f128_pd(t1, t3, 0x20), al));
    _mm256_storeu_pd(d + 2 * dld, _mm256_mul_pd(_mm256_permute2f128_pd(t0, t2, 0x31), al));
    _mm256_storeu_pd(d + 3 * dld, _mm256_mul_pd(_mm256_permute2f128_pd(t1, t3, 0x31), al));
  }
};

#include "gemm_body.h"

using KernS = Kern<Vs, 2, 12>;
using KernD = Kern<Vd, 2, 12>;
using KernDBig = Kern<Vd, 3, 8>;
template struct Kern<Vs, 2, 12>;
template struct Kern<Vd, 2, 12>;
template struct Kern<Vd, 3, 8>;

}  // namespace avx512
}  // namespace gk
}  // namespace lr

LR_TARGET_END

namespace lr {
namespace gk {
// Baseline code: only stores constants and function addresses.
const KernelTable* avx512Table() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "avx512";
    t.desc = "avx512 f32 32x12 f64 16x12";
    t.f32 = makeKernelSet<float, avx512::KernS>(512, 256, 4080);
    t.f64 = makeKernelSet<double, avx512::KernD>(256, 192, 4080);
    // 24 x 8 (3 x 8 accumulators, 3 vector loads and 8 broadcasts per k step, against 2 and 12): on Zen 4
    // 2-4 % faster than 16 x 12 on f64 squares n = 2048 / 4096 on one thread, even on two, but slower
    // where its edges pad more or its row blocks come out uneven (n = 512 on 2 threads -7 %, 1024 on 2
    // threads -4 %, the n = 60 sides of randomized SVD -5 %) (paired C++ harness, EPYC Zen 4, 2026-12-08).
    // Used for big products only, by default only on Zen 4 (gemm_driver.cc: kBigMinDim, bigEnabled).
    t.f64Big = makeKernelSet<double, avx512::KernDBig>(256, 192, 4080);
    t.descBig = "avx512 f32 32x12 f64 16x12, 24x8 from 2048";
    return t;
  }();
  return &table;
}
}  // namespace gk
}  // namespace lr

#else
namespace lr {
namespace gk {
const KernelTable* avx512Table() { return nullptr; }
}  // namespace gk
}  // namespace lr
#endif
