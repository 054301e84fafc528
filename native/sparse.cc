// CSR sparse x dense (SpMM) and sampled dense-dense products (SDDMM).
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

#include "common.h"
#include "csr.h"
#include "isa.h"
#include "threadpool.h"

#if defined(__GNUC__) || defined(__clang__)
#define LR_SPARSE_VEC 1
#define LR_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define LR_SPARSE_VEC 0
#define LR_ALWAYS_INLINE inline
#endif

namespace lr {
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
  (void)M; (void)c; (void)rows; (void)stride; (void)width;
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
  if constexpr (NV > 1) return spmmCols<T, VB, NV / 2>(a, b, e, j0, c);
  else if constexpr (VB > 16) return spmmCols<T, VB / 2, 1>(a, b, e, j0, c);
  else return spmmScalarCols<T>(a, b, e, j0, c);
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
    if constexpr (sizeof(T) == 4) s = (q0[0] + q0[2]) + (q0[1] + q0[3]);
    else s = q0[0] + q0[1];
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
#define LR_SPARSE_ISA(NAME, ATTR, VB)                                                                   \
  template <class T>                                                                                    \
  ATTR bool spmm_##NAME(const SpmmArgs<T>& a, int64_t r0, int64_t r1) {                                 \
    return spmmRows<T, VB, 8>(a, r0, r1);                                                               \
  }                                                                                                     \
  template <class T>                                                                                    \
  ATTR bool sddmm_##NAME(const SddmmArgs<T>& a, int64_t r0, int64_t r1) {                               \
    return sddmmRows<T>(a, r0, r1);                                                                     \
  }                                                                                                     \
  template <class T>                                                                                    \
  Kernels<T> kernels_##NAME() {                                                                         \
    return {&spmm_##NAME<T>, &sddmm_##NAME<T>};                                                         \
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
    case Isa::Avx512: return SparseIsa::Avx512;
    case Isa::Avx2: return SparseIsa::Avx2;
    default: return SparseIsa::Base;
  }
#endif
}

template <class T>
const Kernels<T>& kernels() {
  static const Kernels<T> k = [] {
    switch (detectIsa()) {
#if LR_X86
      case SparseIsa::Avx512: return kernels_avx512<T>();
      case SparseIsa::Avx2: return kernels_avx2<T>();
#endif
      default: return kernels_base<T>();
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
      if (static_cast<int64_t>(ptr[mid]) + mid >= target) h = mid;
      else l = mid + 1;
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

[[noreturn]] void changedDuringCall(const char* fn) {
  throwRange(std::string(fn) + ": the index arrays changed while the call was running");
}

// ---- validation (JS thread) ---------------------------------------------------------------------------

size_t byteLength(const FloatArray& a) { return a.length * (a.dtype == DType::F32 ? 4 : 8); }

bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  auto* x = static_cast<const uint8_t*>(a);
  auto* y = static_cast<const uint8_t*>(b);
  return an && bn && x < y + bn && y < x + an;
}

void noAliasInt(const Args& A, const FloatArray& out, const IntArray& in, const char* fn, const char* on,
                const char* in_name) {
  if (overlaps(out.data, byteLength(out), in.data, in.length * 4))
    jsRangeError(A.env(), std::string(fn) + ": output '" + on + "' overlaps '" + in_name + "'");
}

void checkPerm(const Args& A, const IntArray& perm, int64_t nnz) {
  A.needLength(perm, static_cast<uint64_t>(nnz), "perm");
  uint32_t worst = 0;
  for (int64_t q = 0; q < nnz; ++q) worst = std::max(worst, static_cast<uint32_t>(perm.data[q]));
  if (nnz > 0 && static_cast<int64_t>(worst) >= nnz) {
    for (int64_t q = 0; q < nnz; ++q)
      if (perm.data[q] < 0 || perm.data[q] >= nnz)
        jsRangeError(A.env(), A.where("perm") + ": perm[" + std::to_string(q) + "] = " + std::to_string(perm.data[q]) +
                                  " is out of range [0, " + std::to_string(nnz) + ")");
  }
}

// Cost in GEMM-flop equivalents (common.h: ~1e5 per microsecond of one core). Both kernels gather one
// row of B / V per entry; measured at 100000 x 100000 with 2M entries (one core, f32): ~3.5 ns per
// entry at width 16 (gathered rows in L3) and ~30 ns at width 64 (in DRAM), i.e. roughly 0.2-0.5 ns
// per gathered element. Count 0.5 ns (kPerElement / 2) per element plus a per-entry and per-row
// overhead: errs towards the background.
double gatherCost(int64_t nnz, int64_t rows, int64_t width) {
  return 0.5 * kPerElement *
         (static_cast<double>(nnz) * (static_cast<double>(width) + 8.0) +
          static_cast<double>(rows) * (static_cast<double>(width) + 4.0));
}

// ---- spmm ---------------------------------------------------------------------------------------------

struct SpmmJob : Job {
  IntArray ptr, idx, perm;
  bool hasPerm = false;
  FloatArray vals, B, C;
  int64_t rows = 0, cols = 0, nnz = 0, p = 0;

  void Execute() override {
    if (rows == 0 || p == 0) return;
    withDtype(C.dtype, [&](auto z) {
      using T = decltype(z);
      const T* v = vals.ptr<T>();
      std::unique_ptr<T[]> gathered;
      if (hasPerm && nnz > 0) {
        // Values in the order of idx first (a pass of independent loads, 1.2-1.7x faster overall than
        // gathering through perm inside the kernel), then the plain kernel.
        gathered.reset(new T[static_cast<size_t>(nnz)]);
        T* g = gathered.get();
        const int32_t* pm = perm.data;
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
        if (!ok.load()) changedDuringCall("spmm");
        v = g;
      }
      SpmmArgs<T> a{ptr.data, idx.data, v, static_cast<uint64_t>(nnz), static_cast<uint64_t>(cols),
                    B.ptr<T>(), p, C.ptr<T>()};
      auto* kern = kernels<T>().spmm;
      if (!forRowRanges(threads, ptr.data, rows, nnz, [&](int64_t r0, int64_t r1) { return kern(a, r0, r1); }))
        changedDuringCall("spmm");
      return 0;
    });
  }
};

Napi::Value Spmm(const Napi::CallbackInfo& info) {
  const char* fn = "spmm";
  Args a(info, fn, 10);
  auto job = std::make_unique<SpmmJob>();
  SpmmJob& j = *job;
  j.ptr = a.ints(0, "ptr");
  j.idx = a.ints(1, "idx");
  j.vals = a.floats(2, "vals");
  j.hasPerm = !info[3].IsNull();
  if (j.hasPerm) j.perm = a.ints(3, "perm");
  j.rows = a.dim(4, "rows");
  j.cols = a.dim(5, "cols");
  j.B = a.floats(6, "B");
  j.p = a.dim(7, "p");
  j.C = a.floats(8, "C");
  j.threads = a.threads(9);

  a.sameDtype(j.C, j.vals, "C", "vals");
  a.sameDtype(j.C, j.B, "C", "B");
  j.nnz = checkCsr(a, j.ptr, j.idx, j.rows, j.cols);
  if (j.hasPerm) checkPerm(a, j.perm, j.nnz);
  a.needLength(j.vals, static_cast<uint64_t>(j.nnz), "vals");
  a.needLength(j.B, static_cast<uint64_t>(j.cols) * static_cast<uint64_t>(j.p), "B");
  a.needLength(j.C, static_cast<uint64_t>(j.rows) * static_cast<uint64_t>(j.p), "C");
  a.noAlias(j.C, j.B, "C", "B");
  a.noAlias(j.C, j.vals, "C", "vals");
  noAliasInt(a, j.C, j.ptr, fn, "C", "ptr");
  noAliasInt(a, j.C, j.idx, fn, "C", "idx");
  if (j.hasPerm) noAliasInt(a, j.C, j.perm, fn, "C", "perm");

  j.cost = gatherCost(j.nnz, j.rows, j.p) + (j.hasPerm ? 2.0 * kPerElement * static_cast<double>(j.nnz) : 0.0);
  job->keep(j.ptr);
  job->keep(j.idx);
  if (j.hasPerm) job->keep(j.perm);
  job->keep(j.vals);
  job->keep(j.B);
  job->keep(j.C);
  return Submit(info.Env(), std::move(job));
}

// ---- sddmm --------------------------------------------------------------------------------------------

struct SddmmJob : Job {
  IntArray ptr, idx;
  FloatArray U, V, out;
  int64_t rows = 0, cols = 0, nnz = 0, k = 0;

  void Execute() override {
    if (nnz == 0) return;
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      SddmmArgs<T> a{ptr.data, idx.data, static_cast<uint64_t>(nnz), static_cast<uint64_t>(cols),
                     U.ptr<T>(), V.ptr<T>(), k, out.ptr<T>()};
      auto* kern = kernels<T>().sddmm;
      if (!forRowRanges(threads, ptr.data, rows, nnz, [&](int64_t r0, int64_t r1) { return kern(a, r0, r1); }))
        changedDuringCall("sddmm");
      return 0;
    });
  }
};

Napi::Value Sddmm(const Napi::CallbackInfo& info) {
  const char* fn = "sddmm";
  Args a(info, fn, 9);
  auto job = std::make_unique<SddmmJob>();
  SddmmJob& j = *job;
  j.ptr = a.ints(0, "ptr");
  j.idx = a.ints(1, "idx");
  j.rows = a.dim(2, "rows");
  j.cols = a.dim(3, "cols");
  j.U = a.floats(4, "U");
  j.V = a.floats(5, "V");
  j.k = a.dim(6, "k");
  j.out = a.floats(7, "out");
  j.threads = a.threads(8);

  a.sameDtype(j.out, j.U, "out", "U");
  a.sameDtype(j.out, j.V, "out", "V");
  j.nnz = checkCsr(a, j.ptr, j.idx, j.rows, j.cols);
  a.needLength(j.U, static_cast<uint64_t>(j.rows) * static_cast<uint64_t>(j.k), "U");
  a.needLength(j.V, static_cast<uint64_t>(j.cols) * static_cast<uint64_t>(j.k), "V");
  a.needLength(j.out, static_cast<uint64_t>(j.nnz), "out");
  a.noAlias(j.out, j.U, "out", "U");
  a.noAlias(j.out, j.V, "out", "V");
  noAliasInt(a, j.out, j.ptr, fn, "out", "ptr");
  noAliasInt(a, j.out, j.idx, fn, "out", "idx");

  j.cost = gatherCost(j.nnz, j.rows, j.k);
  job->keep(j.ptr);
  job->keep(j.idx);
  job->keep(j.U);
  job->keep(j.V);
  job->keep(j.out);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterSparse(Napi::Env env, Napi::Object exports) {
  exports.Set("spmm", Napi::Function::New(env, Spmm, "spmm"));
  exports.Set("sddmm", Napi::Function::New(env, Sddmm, "sddmm"));
}

}  // namespace lr
