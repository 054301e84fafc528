// Portable scalar GEMM kernels (any architecture, no intrinsics): 4x4 tiles of plain multiply-adds.
// The build uses -ffp-contract=off, so these are unfused multiplies and adds on every compiler; the
// SIMD paths use explicit FMAs. Used where no SIMD path applies, or when LOWRANK_ISA=scalar.
#include <cstdint>

#include "gemm_internal.h"

namespace lr {
namespace gk {
namespace scalar {

template <class T_>
struct V1 {
  using T = T_;
  using R = T_;
  using G = T_;
  static constexpr int W = 1, BG = 1;
  static LR_GK_INLINE R zero() { return T(0); }
  static LR_GK_INLINE R load(const T* p) { return *p; }
  static LR_GK_INLINE R loadu(const T* p) { return *p; }
  static LR_GK_INLINE void storeu(T* p, R v) { *p = v; }
  static LR_GK_INLINE R set1(T x) { return x; }
  static LR_GK_INLINE G group(const T* p) { return *p; }
  static LR_GK_INLINE R fmaLane(R a, G g, R c, int) { return a * g + c; }
  static LR_GK_INLINE R fma(R a, R b, R c) { return a * b + c; }
  static LR_GK_INLINE R add(R a, R b) { return a + b; }
  // With one lane a partial access has n == 0: nothing to do.
  static LR_GK_INLINE R loadp(const T*, int) { return T(0); }
  static LR_GK_INLINE void storep(T*, R, int) {}
  static LR_GK_INLINE T hsum(R v) { return v; }
  static constexpr bool kTrans4 = false;
  static constexpr int kUnrollK = 1;
};
using Vs = V1<float>;
using Vd = V1<double>;

#include "gemm_body.h"

using KernS = Kern<Vs, 4, 4>;
using KernD = Kern<Vd, 4, 4>;
template struct Kern<Vs, 4, 4>;
template struct Kern<Vd, 4, 4>;

}  // namespace scalar

const KernelTable* scalarTable() {
  static const KernelTable table = [] {
    KernelTable t;
    t.isa = "scalar";
    t.desc = "scalar f32 4x4 f64 4x4";
    t.f32 = makeKernelSet<float, scalar::KernS>(256, 128, 4080);
    t.f64 = makeKernelSet<double, scalar::KernD>(256, 128, 4080);
    return t;
  }();
  return &table;
}

}  // namespace gk
}  // namespace lr
