// CSR sparse x dense (SpMM) and sampled dense-dense products (SDDMM): the algorithms (plain C++,
// sparse.h; the bindings, with the validation, are in sparse.cc).
//
//   spmm(ptr, idx, vals, perm | null, rows, cols, B, p, C, threads)
//     C (rows x p) = S B for S rows x cols in CSR (ptr, idx); the value of entry q is vals[perm[q]] when
//     perm is given (the CSC arrays of S read as the CSR of S^T, values still in CSR order), else vals[q].
//   sddmm(ptr, idx, rows, cols, U, V, k, out, threads)
//     out[q] = dot(U[row(q), :], V[idx[q], :]) for every CSR entry q (U rows x k, V cols x k).
//
// Both are memory bound: one gathered row of B (or V) per stored entry, prefetched a few entries ahead.
// With perm, the values are first gathered into the order of idx (a temporary of nnz elements), then
// the plain kernel runs. Work is split into row ranges balanced by entries + rows (not by row count),
// claimed dynamically by the pool. Every output element is owned by one thread and accumulated in a
// fixed order, so results do not depend on the thread count or on the instruction set (vector widths
// change only how many lanes run at once; no FMA contraction).
//
// Validation: every structural property the kernels rely on (lengths, ptr monotone, indices in range,
// perm in range, dtypes, output aliasing) is checked on the JS thread before anything runs. The kernels
// additionally re-check every index they load (a predictable compare per entry), so a caller that
// mutates the index arrays while a background call runs gets a rejected promise, not a wild write.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "isa.h"
#include "sparse.h"
#include "threadpool.h"

#if defined(__GNUC__) || defined(__clang__)
#define LR_SPARSE_VEC 1
#define LR_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LR_SPARSE_VEC 0
#define LR_ALWAYS_INLINE inline
#endif

namespace lr {
namespace la {
namespace {

// ---- kernels ------------------------------------------------------------------------------------------

template <class T>
struct SpmmArgs {
  const int32_t* ptr;
  const int32_t* idx;
  const T* vals;  // value of entry q (in the order of idx)
  uint64_t nnz;
  uint64_t cols;
  const T* B;
  int64_t p;
  T* C;
};

template <class T>
struct SddmmArgs {
  const int32_t* ptr;
  const int32_t* idx;
  uint64_t nnz;
  uint64_t cols;
  const T* U;
  const T* V;
  int64_t k;
  T* out;
};

// Gathered rows are requested this many entries ahead of their use: the gathers are independent, but
// without the hint the out-of-order window covers only a few of them at a time.
constexpr uint64_t kAhead = 16;

// Prefetches up to 4 cache lines of `width` elements at M + c * stride (row c of a row-major matrix
// with `rows` rows; an out-of-range c, possible only if the arrays changed, prefetches nothing).
template <class T>
LR_ALWAYS_INLINE void prefetchRow(const T* M, int32_t c, uint64_t rows, int64_t stride, int64_t width) {
#if defined(__GNUC__) || defined(__clang__)
  if (static_cast<uint64_t>(static_cast<uint32_t>(c)) >= rows) return;
  const char* p = reinterpret_cast<const char*>(M + static_cast<int64_t>(c) * stride);
  const int64_t bytes = std::min<int64_t>(width * static_cast<int64_t>(sizeof(T)), 256);
  for (int64_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
#else
  (void)M;
  (void)c;
  (void)rows;
  (void)stride;
  (void)width;
#endif
}

// Scalar columns [j0, p) of one row (at most a few columns: what no vector width covers, or p == 1).
// Returns false when a column index is out of range (the arrays changed under us).
template <class T>
LR_ALWAYS_INLINE bool spmmScalarCols(const SpmmArgs<T>& a, int64_t b, int64_t e, int64_t j0, T* c) {
  const int64_t p = a.p;
  for (int64_t j = j0; j < p; ++j) {
    T acc = 0;
    for (int64_t q = b; q < e; ++q) {
      const uint64_t col = static_cast<uint32_t>(a.idx[q]);
      if (col >= a.cols) return false;
      acc += a.vals[q] * a.B[col * p + j];
    }
    c[j] = acc;
  }
  return true;
}

#if LR_SPARSE_VEC
// Columns [j0, j0 + NV * lanes) of one row, accumulated in NV vectors of VB bytes (kept in registers).
template <class T, int VB, int NV>
LR_ALWAYS_INLINE bool spmmBlock(const SpmmArgs<T>& a, int64_t b, int64_t e, int64_t j0, T* c) {
  typedef T vt __attribute__((vector_size(VB)));
  constexpr int L = VB / static_cast<int>(sizeof(T));
  vt acc[NV];
#pragma GCC unroll 16
  for (int t = 0; t < NV; ++t) acc[t] = vt{};
  const T* B = a.B + j0;
  for (int64_t q = b; q < e; ++q) {
    if (static_cast<uint64_t>(q) + kAhead < a.nnz) prefetchRow(B, a.idx[q + kAhead], a.cols, a.p, NV * L);
    const uint64_t col = static_cast<uint32_t>(a.idx[q]);
    if (col >= a.cols) return false;
    const T s = a.vals[q];
    const T* br = B + col * a.p;
#pragma GCC unroll 16
    for (int t = 0; t < NV; ++t) {
      vt x;
      std::memcpy(&x, br + t * L, sizeof x);
      acc[t] += x * s;  // vector * scalar: the scalar is broadcast
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < NV; ++t) std::memcpy(c + j0 + t * L, &acc[t], sizeof(vt));
  return true;
}

// Columns [j0, p) of one row: blocks of NV vectors, then halving NV, then narrower vectors, then scalar.
template <class T, int VB, int NV>
LR_ALWAYS_INLINE bool spmmCols(const SpmmArgs<T>& a, int64_t b, int64_t e, int64_t j0, T* c) {
  constexpr int64_t W = NV * (VB / static_cast<int>(sizeof(T)));
  for (; a.p - j0 >= W; j0 += W)
    if (!spmmBlock<T, VB, NV>(a, b, e, j0, c)) return false;
  if (j0 == a.p) return true;
  if constexpr (NV > 1)
    return spmmCols<T, VB, NV / 2>(a, b, e, j0, c);
  else if constexpr (VB > 16)
    return spmmCols<T, VB / 2, 1>(a, b, e, j0, c);
  else
    return spmmScalarCols<T>(a, b, e, j0, c);
}
#endif

// Rows [r0, r1) of C = S B. VB: widest vector of the instruction set in bytes, NV: accumulator vectors.
template <class T, int VB, int NV>
LR_ALWAYS_INLINE bool spmmRows(const SpmmArgs<T>& args, int64_t r0, int64_t r1) {
  const SpmmArgs<T> a = args;  // a local copy: its fields cannot alias the output
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = a.ptr[r], e = a.ptr[r + 1];
    if (b < 0 || b > e || static_cast<uint64_t>(e) > a.nnz) return false;
    T* c = a.C + r * a.p;
#if LR_SPARSE_VEC
    if (!spmmCols<T, VB, NV>(a, b, e, 0, c)) return false;
#else
    if (!spmmScalarCols<T>(a, b, e, 0, c)) return false;
#endif
  }
  return true;
}

// dot(u, v) over k in a fixed evaluation order that does not depend on the instruction set: two
// accumulators of 64 bytes (16 f32 / 8 f64 lanes, however many registers that takes), a fixed
// pairwise lane reduction, then the scalar tail.
template <class T>
LR_ALWAYS_INLINE T dotFixed(const T* u, const T* v, int64_t k) {
#if LR_SPARSE_VEC
  typedef T vt __attribute__((vector_size(64)));
  constexpr int L = 64 / static_cast<int>(sizeof(T));
  int64_t t = 0;
  T s = 0;
  if (k >= L) {
    vt a0 = vt{}, a1 = vt{};
    for (; t + 2 * L <= k; t += 2 * L) {
      vt x0, y0, x1, y1;
      std::memcpy(&x0, u + t, sizeof x0);
      std::memcpy(&y0, v + t, sizeof y0);
      std::memcpy(&x1, u + t + L, sizeof x1);
      std::memcpy(&y1, v + t + L, sizeof y1);
      a0 += x0 * y0;
      a1 += x1 * y1;
    }
    if (t + L <= k) {
      vt x0, y0;
      std::memcpy(&x0, u + t, sizeof x0);
      std::memcpy(&y0, v + t, sizeof y0);
      a0 += x0 * y0;
      t += L;
    }
    a0 += a1;
    // Lane tree: lane i += lane i + L/2, then i + L/4, ... (halves of the vector, no stack round trip).
    typedef T ht __attribute__((vector_size(32)));
    typedef T qt __attribute__((vector_size(16)));
    ht h0, h1;
    std::memcpy(&h0, &a0, 32);
    std::memcpy(&h1, reinterpret_cast<const char*>(&a0) + 32, 32);
    h0 += h1;
    qt q0, q1;
    std::memcpy(&q0, &h0, 16);
    std::memcpy(&q1, reinterpret_cast<const char*>(&h0) + 16, 16);
    q0 += q1;
    if constexpr (sizeof(T) == 4)
      s = (q0[0] + q0[2]) + (q0[1] + q0[3]);
    else
      s = q0[0] + q0[1];
  }
  T tail = 0;
  for (; t < k; ++t) tail += u[t] * v[t];
  return s + tail;
#else
  T s = 0;
  for (int64_t t = 0; t < k; ++t) s += u[t] * v[t];
  return s;
#endif
}

template <class T>
LR_ALWAYS_INLINE bool sddmmRows(const SddmmArgs<T>& args, int64_t r0, int64_t r1) {
  const SddmmArgs<T> a = args;
  const int64_t k = a.k;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = a.ptr[r], e = a.ptr[r + 1];
    if (b < 0 || b > e || static_cast<uint64_t>(e) > a.nnz) return false;
    const T* u = a.U + r * k;
    for (int64_t q = b; q < e; ++q) {
      if (static_cast<uint64_t>(q) + kAhead < a.nnz) prefetchRow(a.V, a.idx[q + kAhead], a.cols, k, k);
      const uint64_t col = static_cast<uint32_t>(a.idx[q]);
      if (col >= a.cols) return false;
      a.out[q] = dotFixed<T>(u, a.V + col * k, k);
    }
  }
  return true;
}

// ---- per-ISA instantiations ---------------------------------------------------------------------------

template <class T>
struct Kernels {
  bool (*spmm)(const SpmmArgs<T>&, int64_t, int64_t);
  bool (*sddmm)(const SddmmArgs<T>&, int64_t, int64_t);
};

// VB = widest vector in bytes; NV = 8 accumulator vectors (16 registers on SSE/AVX2, 32 on AVX-512).
#define LR_SPARSE_ISA(NAME, ATTR, VB)                                     \
  template <class T>                                                      \
  ATTR bool spmm_##NAME(const SpmmArgs<T>& a, int64_t r0, int64_t r1) {   \
    return spmmRows<T, VB, 8>(a, r0, r1);                                 \
  }                                                                       \
  template <class T>                                                      \
  ATTR bool sddmm_##NAME(const SddmmArgs<T>& a, int64_t r0, int64_t r1) { \
    return sddmmRows<T>(a, r0, r1);                                       \
  }                                                                       \
  template <class T>                                                      \
  Kernels<T> kernels_##NAME() {                                           \
    return {&spmm_##NAME<T>, &sddmm_##NAME<T>};                           \
  }

LR_SPARSE_ISA(base, , 16)
#if LR_X86
LR_SPARSE_ISA(avx2, __attribute__((target("avx2,fma"))), 32)
LR_SPARSE_ISA(avx512, __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma"))), 64)
#endif
#undef LR_SPARSE_ISA

enum class SparseIsa { Base, Avx2, Avx512 };

SparseIsa detectIsa() {
#if defined(LR_SPARSE_FORCE_ISA)  // testing hook: -DLR_SPARSE_FORCE_ISA=0|1|2
  return static_cast<SparseIsa>(LR_SPARSE_FORCE_ISA);
#else
  switch (kernelIsa()) {
    case Isa::Avx512:
      return SparseIsa::Avx512;
    case Isa::Avx2:
      return SparseIsa::Avx2;
    default:
      return SparseIsa::Base;
  }
#endif
}

template <class T>
const Kernels<T>& kernels() {
  static const Kernels<T> k = [] {
    switch (detectIsa()) {
#if LR_X86
      case SparseIsa::Avx512:
        return kernels_avx512<T>();
      case SparseIsa::Avx2:
        return kernels_avx2<T>();
#endif
      default:
        return kernels_base<T>();
    }
  }();
  return k;
}

// ---- row partition ----------------------------------------------------------------------------------

// Splits rows [0, rows) into `parts` contiguous ranges of about equal weight, weight(r) = entries + 1,
// i.e. boundary t is the first row r with ptr[r] + r >= t * (nnz + rows) / parts. Boundaries are
// forced monotone and into [0, rows], whatever ptr holds.
std::vector<int64_t> balancedRows(const int32_t* ptr, int64_t rows, int64_t nnz, int64_t parts) {
  std::vector<int64_t> bound(static_cast<size_t>(parts) + 1);
  bound[0] = 0;
  const int64_t total = nnz + rows;
  int64_t lo = 0;
  for (int64_t t = 1; t < parts; ++t) {
    const int64_t target = total * t / parts;
    int64_t l = lo, h = rows;  // first r in [l, h] with ptr[r] + r >= target
    while (l < h) {
      int64_t mid = l + (h - l) / 2;
      if (static_cast<int64_t>(ptr[mid]) + mid >= target)
        h = mid;
      else
        l = mid + 1;
    }
    lo = l;
    bound[static_cast<size_t>(t)] = l;
  }
  bound[static_cast<size_t>(parts)] = rows;
  return bound;
}

// Runs fn(r0, r1) over balanced row ranges on up to `threads` threads; false if any call returned false.
template <class F>
bool forRowRanges(int threads, const int32_t* ptr, int64_t rows, int64_t nnz, F&& fn) {
  if (rows <= 0) return true;
  int64_t parts = threads <= 1 ? 1 : std::min<int64_t>(rows, 8 * static_cast<int64_t>(threads));
  if (parts <= 1) return fn(int64_t{0}, rows);
  const std::vector<int64_t> bound = balancedRows(ptr, rows, nnz, parts);
  std::atomic<bool> ok{true};
  parallelFor(threads, parts, [&](int64_t t, int) {
    if (!ok.load(std::memory_order_relaxed)) return;
    const int64_t r0 = bound[static_cast<size_t>(t)], r1 = bound[static_cast<size_t>(t) + 1];
    if (r0 < r1 && !fn(r0, r1)) ok.store(false, std::memory_order_relaxed);
  });
  return ok.load();
}

}  // namespace

template <class T>
bool spmm(const int32_t* ptr, const int32_t* idx, const T* vals, const int32_t* perm, int64_t rows, int64_t cols,
          int64_t nnz, const T* B, int64_t p, T* C, int threads) {
  if (rows == 0 || p == 0) return true;
  const T* v = vals;
  std::unique_ptr<T[]> gathered;
  if (perm && nnz > 0) {
    // Values in the order of idx first (a pass of independent loads, 1.2-1.7x faster overall than
    // gathering through perm inside the kernel), then the plain kernel.
    gathered.reset(new T[static_cast<size_t>(nnz)]);
    T* g = gathered.get();
    const int32_t* pm = perm;
    std::atomic<bool> ok{true};
    parallelRanges(threads, nnz, 1 << 16, [&](int64_t b, int64_t e, int) {
      bool good = true;
      for (int64_t q = b; q < e; ++q) {
        const uint64_t i = static_cast<uint32_t>(pm[q]);
        good &= i < static_cast<uint64_t>(nnz);
        g[q] = v[good ? i : 0];
      }
      if (!good) ok.store(false);
    });
    if (!ok.load()) return false;
    v = g;
  }
  SpmmArgs<T> a{ptr, idx, v, static_cast<uint64_t>(nnz), static_cast<uint64_t>(cols), B, p, C};
  auto* kern = kernels<T>().spmm;
  return forRowRanges(threads, ptr, rows, nnz, [&](int64_t r0, int64_t r1) { return kern(a, r0, r1); });
}

template <class T>
bool sddmm(const int32_t* ptr, const int32_t* idx, int64_t rows, int64_t cols, int64_t nnz, const T* U, const T* V,
           int64_t k, T* out, int threads) {
  if (nnz == 0) return true;
  SddmmArgs<T> a{ptr, idx, static_cast<uint64_t>(nnz), static_cast<uint64_t>(cols), U, V, k, out};
  auto* kern = kernels<T>().sddmm;
  return forRowRanges(threads, ptr, rows, nnz, [&](int64_t r0, int64_t r1) { return kern(a, r0, r1); });
}

template bool spmm<float>(const int32_t*, const int32_t*, const float*, const int32_t*, int64_t, int64_t, int64_t,
                          const float*, int64_t, float*, int);
template bool spmm<double>(const int32_t*, const int32_t*, const double*, const int32_t*, int64_t, int64_t, int64_t,
                           const double*, int64_t, double*, int);
template bool sddmm<float>(const int32_t*, const int32_t*, int64_t, int64_t, int64_t, const float*, const float*,
                           int64_t, float*, int);
template bool sddmm<double>(const int32_t*, const int32_t*, int64_t, int64_t, int64_t, const double*, const double*,
                            int64_t, double*, int);

}  // namespace la
}  // namespace lr
