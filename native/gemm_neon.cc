// NEON (AArch64 Advanced SIMD) GEMM kernels: f32 8x12 (2 q registers x 12 columns, 24 accumulators)
// and f64 8x6 (4 q x 6, 24 accumulators). B is read one q register at a time and used through
// lane-indexed FMAs (fmla v.4s, v.4s, v.s[lane]). NEON is baseline on AArch64: no dispatch needed.
#include "gemm_internal.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstdint>

namespace lr {
namespace gk {
namespace neon {

struct Vs {
  using T = float;
  using R = float32x4_t;
  using G = float32x4_t;
  static constexpr int W = 4, BG = 4;
  static LR_GK_INLINE R zero() { return vdupq_n_f32(0.0f); }
  static LR_GK_INLINE R load(const T* p) { return vld1q_f32(p); }
  static LR_GK_INLINE R loadu(const T* p) { return vld1q_f32(p); }
  static LR_GK_INLINE void storeu(T* p, R v) { vst1q_f32(p, v); }
  static LR_GK_INLINE R set1(T x) { return vdupq_n_f32(x); }
  static LR_GK_INLINE G group(const T* p) { return vld1q_f32(p); }
  // The lane must be an immediate: the switch folds away once the unrolled caller passes constants.
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int lane) {
    switch (lane) {
      case 0:
        return vfmaq_laneq_f32(c, a, g, 0);
      case 1:
        return vfmaq_laneq_f32(c, a, g, 1);
      case 2:
        return vfmaq_laneq_f32(c, a, g, 2);
      default:
        return vfmaq_laneq_f32(c, a, g, 3);
    }
  }
  static LR_GK_INLINE R fma(R a, R b, R c) { return vfmaq_f32(c, a, b); }
  static LR_GK_INLINE R add(R a, R b) { return vaddq_f32(a, b); }
  static LR_GK_INLINE R loadp(const T* p, int n) {
    T t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1q_f32(t);
  }
  static LR_GK_INLINE void storep(T* p, R v, int n) {
    T t[4];
    vst1q_f32(t, v);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }
  static LR_GK_INLINE T hsum(R v) { return vaddvq_f32(v); }
  static constexpr bool kTrans4 = true;
  static constexpr int kUnrollK = 1;
  static LR_GK_INLINE void trans4(const T* s, int64_t ld, T* d, int64_t dld, T alpha) {
    const float32x4_t r0 = vld1q_f32(s), r1 = vld1q_f32(s + ld), r2 = vld1q_f32(s + 2 * ld), r3 = vld1q_f32(s + 3 * ld);
    const float32x4_t a0 = vzip1q_f32(r0, r2), a1 = vzip2q_f32(r0, r2);
    const float32x4_t b0 = vzip1q_f32(r1, r3), b1 = vzip2q_f32(r1, r3);
    vst1q_f32(d, vmulq_n_f32(vzip1q_f32(a0, b0), alpha));
    vst1q_f32(d + dld, vmulq_n_f32(vzip2q_f32(a0, b0), alpha));
    vst1q_f32(d + 2 * dld, vmulq_n_f32(vzip1q_f32(a1, b1), alpha));
    vst1q_f32(d + 3 * dld, vmulq_n_f32(vzip2q_f32(a1, b1), alpha));
  }
};

struct Vd {
  using T = double;
  using R = float64x2_t;
  using G = float64x2_t;
  static constexpr int W = 2, BG = 2;
  static LR_GK_INLINE R zero() { return vdupq_n_f64(0.0); }
  static LR_GK_INLINE R load(const T* p) { return vld1q_f64(p); }
  static LR_GK_INLINE R loadu(const T* p) { return vld1q_f64(p); }
  static LR_GK_INLINE void storeu(T* p, R v) { vst1q_f64(p, v); }
  static LR_GK_INLINE R set1(T x) { return vdupq_n_f64(x); }
  static LR_GK_INLINE G group(const T* p) { return vld1q_f64(p); }
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int lane) {
    return lane == 0 ? vfmaq_laneq_f64(c, a, g, 0) : vfmaq_laneq_f64(c, a, g, 1);
  }
  static LR_GK_INLINE R fma(R a, R b, R c) { return vfmaq_f64(c, a, b); }
  static LR_GK_INLINE R add(R a, R b) { return vaddq_f64(a, b); }
  static LR_GK_INLINE R loadp(const T* p, int n) {
    T t[2] = {0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1q_f64(t);
  }
  static LR_GK_INLINE void storep(T* p, R v, int n) {
    T t[2];
    vst1q_f64(t, v);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }
  static LR_GK_INLINE T hsum(R v) { return vaddvq_f64(v); }
  static constexpr bool kTrans4 = true;
  static constexpr int kUnrollK = 1;
  static LR_GK_INLINE void trans4(const T* s, int64_t ld, T* d, int64_t dld, T alpha) {
    // Rows r = (lo_r, hi_r); output row q pairs rows (0, 1) and (2, 3) of source column q.
    const float64x2_t l0 = vld1q_f64(s), h0 = vld1q_f64(s + 2), l1 = vld1q_f64(s + ld), h1 = vld1q_f64(s + ld + 2);
    const float64x2_t l2 = vld1q_f64(s + 2 * ld), h2 = vld1q_f64(s + 2 * ld + 2);
    const float64x2_t l3 = vld1q_f64(s + 3 * ld), h3 = vld1q_f64(s + 3 * ld + 2);
    vst1q_f64(d, vmulq_n_f64(vzip1q_f64(l0, l1), alpha));
    vst1q_f64(d + 2, vmulq_n_f64(vzip1q_f64(l2, l3), alpha));
    vst1q_f64(d + dld, vmulq_n_f64(vzip2q_f64(l0, l1), alpha));
    vst1q_f64(d + dld + 2, vmulq_n_f64(vzip2q_f64(l2, l3), alpha));
    vst1q_f64(d + 2 * dld, vmulq_n_f64(vzip1q_f64(h0, h1), alpha));
    vst1q_f64(d + 2 * dld + 2, vmulq_n_f64(vzip1q_f64(h2, h3), alpha));
    vst1q_f64(d + 3 * dld, vmulq_n_f64(vzip2q_f64(h0, h1), alpha));
    vst1q_f64(d + 3 * dld + 2, vmulq_n_f64(vzip2q_f64(h2, h3), alpha));
  }
};

#include "gemm_body.h"

using KernS = Kern<Vs, 2, 12>;
using KernD = Kern<Vd, 4, 6>;
template struct Kern<Vs, 2, 12>;
template struct Kern<Vd, 4, 6>;

}  // namespace neon

const KernelTable* neonTable() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "neon";
    t.desc = "neon f32 8x12 f64 8x6";
    t.f32 = makeKernelSet<float, neon::KernS>(512, 192, 4080);
    t.f64 = makeKernelSet<double, neon::KernD>(256, 120, 4080);
    return t;
  }();
  return &table;
}

}  // namespace gk
}  // namespace lr

#else
namespace lr {
namespace gk {
const KernelTable* neonTable() { return nullptr; }
}  // namespace gk
}  // namespace lr
#endif
