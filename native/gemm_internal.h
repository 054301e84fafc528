// Internal interface between the GEMM driver (gemm.cc, baseline ISA) and the per-ISA kernel sets
// (gemm_avx512.cc, gemm_avx2.cc, gemm_neon.cc, gemm_scalar.cc). Not part of the public API.
//
// Everything below the driver works in "kernel land": column-major C'(i, j) = C[i + j * ldc], so the
// row-major user product C = op(A) op(B) becomes C' = A' B' with A' = op(B)^T (M' = n rows) and
// B' = op(A)^T (N' = m columns). Operands are described by two strides, so transposes only change
// the packing loops and the microkernels never see a stride.
//
// Each ISA file compiles the same generic body (gemm_body.h) inside its own namespace and
// `#pragma GCC target` region; the driver only ever reaches that code through the function pointers
// of a KernelSet, after checking at run time that the CPU supports the ISA.
#pragma once

#include <cstdint>

// Forced inlining for the tiny vector wrappers of the kernel bodies (they must inline into the
// target-region functions that call them) and a full-unroll hint for fixed-trip loops.
#if defined(_MSC_VER) && !defined(__clang__)
#define LR_GK_INLINE __forceinline
#define LR_GK_NOINLINE __declspec(noinline)
#define LR_GK_UNROLL
#define LR_GK_NO_UNROLL
#define LR_GK_RESTRICT __restrict
#else
#define LR_GK_INLINE inline __attribute__((always_inline))
#define LR_GK_NOINLINE __attribute__((noinline))
#define LR_GK_RESTRICT __restrict__
#if defined(__clang__)
#define LR_GK_UNROLL _Pragma("unroll")
#define LR_GK_NO_UNROLL _Pragma("nounroll")
#else
#define LR_GK_UNROLL _Pragma("GCC unroll 32")
#define LR_GK_NO_UNROLL _Pragma("GCC unroll 1")
#endif
#endif

namespace lr {
namespace gk {

// GEMV kernels take up to this many vectors at once (C with up to 4 rows or columns).
constexpr int kMaxVec = 4;
// Scratch per vector needed by axpyRows (its column block).
constexpr int kAxpyWorkBytes = 16384;

// Kernels for one ISA and one element type.
template <class T>
struct KernelSet {
  int mr = 0, nr = 0;          // micro-tile (MR rows along the vector dimension, NR broadcast columns)
  int kc = 0, mc = 0, nc = 0;  // preferred blocking before cache-size clamping
  // Packs A'(0:mc, 0:kc), element (i, p) at a[i * rs + p * cs], into ceil(mc / MR) micro-panels of
  // kc x MR (k-major, MR contiguous values per k step), zero-padding the last panel's rows.
  void (*packA)(int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* dst) = nullptr;
  // Packs alpha * B'(0:kc, 0:nc), element (p, j) at b[p * rs + j * cs], into ceil(nc / NR)
  // micro-panels of kc x NR, zero-padding the last panel's columns.
  void (*packB)(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, T alpha, T* dst) = nullptr;
  // C'(0:mc, 0:nc) = A~ B~ + beta C' (column-major, leading dimension ldc). beta == 0 never reads C.
  // tri: update only entries with i <= j + diag (local indices); micro-tiles entirely outside are skipped.
  // ad != nullptr ("direct" A'): full MR-row tiles read A' in place, element (i, p) at ad[i + p * acs];
  // pa then only needs the trailing partial micro-panel, at its packed position.
  // bd != nullptr ("direct" B', only when directB and not tri; alpha must be 1): full NR-column panels read
  // B' in place, element (p, j) at bd[p + j * bcs]; pb then only needs the trailing partial micro-panel.
  void (*macro)(int64_t mc, int64_t nc, int64_t kc, const T* pa, const T* ad, int64_t acs, const T* pb, const T* bd,
                int64_t bcs, T* c, int64_t ldc, T beta, bool tri, int64_t diag) = nullptr;
  bool directB = false;  // the macro kernel can read B' in place (broadcast groups of one value)
  // Matrix-vector products with nv in [1, kMaxVec] vectors, vector c at X + c * ldx (contiguous,
  // alpha folded in); output (r, c) at y[r * incy + c * incv]; beta == 0 never reads y.
  // dotRows:  y(r, c) = sum_l M[r * ld + l] * X[c * ldx + l] + beta y(r, c),  r in [0, rows), l < len
  void (*dotRows)(int64_t rows, int64_t len, const T* M, int64_t ld, const T* X, int64_t ldx, int nv, T beta, T* y,
                  int64_t incy, int64_t incv) = nullptr;
  // axpyRows: y(j, c) = sum_p X[c * ldx + p] * M[p * ld + j] + beta y(j, c),  j in [0, len), p < K;
  // work: kMaxVec * kAxpyWorkBytes bytes of scratch.
  void (*axpyRows)(int64_t len, int64_t K, const T* M, int64_t ld, const T* X, int64_t ldx, int nv, T beta, T* y,
                   int64_t incy, int64_t incv, T* work) = nullptr;
};

struct KernelTable {
  const char* isa = nullptr;   // "avx512", "avx2", "neon", "scalar"
  const char* desc = nullptr;  // e.g. "avx512 f32 32x12 f64 16x12"
  KernelSet<float> f32;
  KernelSet<double> f64;
  // Optional f64 set for big products (see kBigMinDim in gemm_driver.cc), mr == 0 where there is none, and
  // the kernel description while it is in use. The driver gives it f64's blocking, so its kc, hence every
  // entry's arithmetic and bits, are those of f64.
  KernelSet<double> f64Big;
  const char* descBig = nullptr;
  template <class T>
  const KernelSet<T>& get() const;
};
template <>
inline const KernelSet<float>& KernelTable::get<float>() const {
  return f32;
}
template <>
inline const KernelSet<double>& KernelTable::get<double>() const {
  return f64;
}

// Builds a KernelSet from a kernel class of gemm_body.h (Kern<V, MV, NR>). Runs in baseline code: it
// only copies constants and function addresses.
template <class T, class K>
KernelSet<T> makeKernelSet(int kc, int mc, int nc) {
  KernelSet<T> s;
  s.mr = K::MR;
  s.nr = K::NR;
  s.kc = kc;
  s.mc = mc;
  s.nc = nc;
  s.packA = &K::packA;
  s.packB = &K::packB;
  s.macro = &K::macro;
  s.directB = K::kDirectB;
  s.dotRows = &K::dotRows;
  s.axpyRows = &K::axpyRows;
  return s;
}

// Filled by the ISA files; return nullptr where the ISA is not compiled in (wrong architecture).
// They only take function addresses: nothing ISA-specific runs until the driver has checked the CPU.
const KernelTable* avx512Table();
const KernelTable* avx2Table();
const KernelTable* neonTable();
const KernelTable* scalarTable();

// The table chosen at load time (CPU features, LOWRANK_ISA override); defined in gemm.cc.
const KernelTable& activeTable();
// The widest ISA this CPU supports, ignoring LOWRANK_ISA: "avx512", "avx2", "neon" or "scalar".
const char* hardwareIsa();

// Cache blocking of the active table for one element size (computed once from the cache sizes).
struct Blocking {
  int64_t kc = 0, mc = 0, nc = 0;
};
template <class T>
Blocking activeBlocking();
// Tuning/testing hook (not thread-safe, never called by the addon): replaces the blocking of the
// active table for T; zero fields keep the computed value.
template <class T>
void overrideBlocking(Blocking b);

}  // namespace gk
}  // namespace lr
