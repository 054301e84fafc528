// AVX2 + FMA GEMM kernels: f32 16x6 (2 ymm x 6 columns), f64 8x6, i.e. 12 accumulators of 16 registers.
// Compiled with the baseline flags; the ISA is enabled only inside the target region below, and the
// driver calls in only after __builtin_cpu_supports() said yes (see gemm_driver.cc).
#include "isa.h"
#include "gemm_internal.h"

#if LR_X86
#include <immintrin.h>

#include <cstdint>

LR_TARGET_AVX2_BEGIN

namespace lr {
namespace gk {
namespace avx2 {

struct Vs {
  using T = float;
  using R = __m256;
  using G = __m256;
  static constexpr int W = 8, BG = 1;
  static LR_GK_INLINE R zero() { return _mm256_setzero_ps(); }
  static LR_GK_INLINE R load(const T* p) { return _mm256_load_ps(p); }
  static LR_GK_INLINE R loadu(const T* p) { return _mm256_loadu_ps(p); }
  static LR_GK_INLINE void storeu(T* p, R v) { _mm256_storeu_ps(p, v); }
  static LR_GK_INLINE R set1(T x) { return _mm256_set1_ps(x); }
  static LR_GK_INLINE G group(const T* p) { return _mm256_broadcast_ss(p); }
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int) { return _mm256_fmadd_ps(a, g, c); }
  static LR_GK_INLINE R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }
  static LR_GK_INLINE R add(R a, R b) { return _mm256_add_ps(a, b); }
  static LR_GK_INLINE __m256i mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static LR_GK_INLINE R loadp(const T* p, int n) { return _mm256_maskload_ps(p, mask(n)); }
  static LR_GK_INLINE void storep(T* p, R v, int n) { _mm256_maskstore_ps(p, mask(n), v); }
  static LR_GK_INLINE T hsum(R v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
  }
  static constexpr bool kTrans4 = true;
  static constexpr int kUnrollK = 4;
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
  using R = __m256d;
  using G = __m256d;
  static constexpr int W = 4, BG = 1;
  static LR_GK_INLINE R zero() { return _mm256_setzero_pd(); }
  static LR_GK_INLINE R load(const T* p) { return _mm256_load_pd(p); }
  static LR_GK_INLINE R loadu(const T* p) { return _mm256_loadu_pd(p); }
  static LR_GK_INLINE void storeu(T* p, R v) { _mm256_storeu_pd(p, v); }
  static LR_GK_INLINE R set1(T x) { return _mm256_set1_pd(x); }
  static LR_GK_INLINE G group(const T* p) { return _mm256_broadcast_sd(p); }
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int) { return _mm256_fmadd_pd(a, g, c); }
  static LR_GK_INLINE R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static LR_GK_INLINE R add(R a, R b) { return _mm256_add_pd(a, b); }
  static LR_GK_INLINE __m256i mask(int n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static LR_GK_INLINE R loadp(const T* p, int n) { return _mm256_maskload_pd(p, mask(n)); }
  static LR_GK_INLINE void storep(T* p, R v, int n) { _mm256_maskstore_pd(p, mask(n), v); }
  static LR_GK_INLINE T hsum(R v) {
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
  }
  static constexpr bool kTrans4 = true;
  static constexpr int kUnrollK = 4;
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

using KernS = Kern<Vs, 2, 6>;
using KernD = Kern<Vd, 2, 6>;
template struct Kern<Vs, 2, 6>;
template struct Kern<Vd, 2, 6>;

}  // namespace avx2
}  // namespace gk
}  // namespace lr

LR_TARGET_END

namespace lr {
namespace gk {
// Baseline code: only stores constants and function addresses.
const KernelTable* avx2Table() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "avx2";
    t.desc = "avx2 f32 16x6 f64 8x6";
    t.f32 = makeKernelSet<float, avx2::KernS>(256, 192, 4080);
    t.f64 = makeKernelSet<double, avx2::KernD>(256, 96, 4080);
    return t;
  }();
  return &table;
}
}  // namespace gk
}  // namespace lr

#else
namespace lr {
namespace gk {
const KernelTable* avx2Table() { return nullptr; }
}  // namespace gk
}  // namespace lr
#endif
