// Segmented kernels for alternating least squares on a sparsity pattern (matrix completion).
//
// A "segment" is one row of S (CSR: ptr = rowPtr, idx = colIdx) or one column (CSC: ptr = colPtr,
// idx = rowIdx, values through perm). For segment j with entries t in [ptr[j], ptr[j + 1]) the design
// matrix is A_j = F[idx[t], :] (F is cols x k) and the right-hand side b_j = vals(t).
//
//   segmentGram(ptr, idx, segs, cols, F, k, order | null, sketchRows, out, threads)
//     out of length segs*k*k: out (segs x k*k, full symmetric) = A_j^T A_j, or (order given) (S_j A_j)^T (S_j A_j)
//     for a CountSketch S_j with s_j = min(len_j, sketchRows) balanced buckets: order[ptr[j] + t] encodes
//     the t-th entry of a random permutation of the segment as its position (sign +1) or as
//     -(position + 1) (sign -1), and bucket b sums
//     the permuted entries b, b + s_j, b + 2 s_j, ... with their signs.
//     out of length segs*k (order must be null): out (segs x k) = diag(A_j^T A_j) (for k = 1 the two
//     coincide).
//   choleskyBatch(G, segs, k, ridge | null, fallback, inverse, L, status, threads)
//     Lower Cholesky factor of G_j + lambda_j I with lambda_j = ridge[j] trace(G_j) / k (ridge: a
//     Float64Array of length segs, or null for 0; negative entries count as 0). When the factorization breaks down (a pivot below
//     k u trace, or non-finite) it is retried with lambda = max(lambda_j, fallback trace / k) when
//     fallback > 0: status 1.
//     When that fails too (or trace is 0 / non-finite) L_j = 0: status 2. Otherwise status 0.
//     inverse: L_j is replaced by L_j^{-1} (lower), the form segmentCG applies as a preconditioner.
//   choleskySolveBatch(L, segs, k, H, X, threads)
//     X_j = (L_j L_j^T)^{-1} h_j (forward + back substitution); X_j = 0 where L_j[0, 0] == 0.
//   segmentCG(ptr, idx, vals, perm | null, segs, cols, F, k, X0, P, pw, steps, X, ridge | null, threads)
//     `steps` steps of preconditioned CG on (A_j^T A_j + lambda_j I) x = A_j^T b_j from x = X0_j, per
//     segment; lambda_j = ridge[j] trace(A_j^T A_j) / k (ridge: segs values of X's dtype; <= 0 or null:
//     no ridge; a diagonal preconditioner is shifted by lambda_j too).
//     P (segs x pw): pw == k*k: W_j = L_j^{-1} (lower), preconditioner M^{-1} = W_j^T W_j; pw == k: a
//     diagonal d_j, M^{-1} = diag(1 / d_j) (0 where d_j <= 0). A step that would divide by a
//     non-positive curvature or residual stops that segment's iteration.
//
// Every segment is independent: parallel over segments (dynamic), fixed summation order inside a
// segment, so results do not depend on the thread count. Validation on the JS thread as in sparse.cc;
// the kernels re-check every loaded index.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"
#include "csr.h"
#include "isa.h"
#include "threadpool.h"

namespace lr {
namespace {

[[noreturn]] void changed(const char* fn) {
  throwRange(std::string(fn) + ": the index arrays changed while the call was running");
}

void checkIndexRange(const Args& A, const IntArray& a, int64_t nnz, const char* name, bool signedPos) {
  A.needLength(a, static_cast<uint64_t>(nnz), name);
  for (int64_t q = 0; q < nnz; ++q) {
    const int64_t v = a.data[q];
    const int64_t pos = signedPos && v < 0 ? -v - 1 : v;
    if (pos < 0 || pos >= nnz)
      jsRangeError(A.env(), A.where(name) + ": entry " + std::to_string(q) + " = " + std::to_string(v) +
                                " does not name a position in [0, " + std::to_string(nnz) + ")");
  }
}

// Segment j's range, re-checked against the live arrays.
inline bool segRange(const int32_t* ptr, int64_t j, int64_t nnz, int64_t& b, int64_t& e) {
  b = ptr[j];
  e = ptr[j + 1];
  return b >= 0 && b <= e && e <= nnz;
}

// ---- per-ISA kernels (completion_body.h) -------------------------------------------------------------

template <class T>
struct GramArgs {
  const int32_t* ptr;
  const int32_t* idx;
  const int32_t* order;  // null: exact Gram
  int64_t nnz, cols, k, sketchRows;
  bool diag;
  const T* F;
  T* out;
};

template <class T>
struct CgArgs {
  const int32_t* ptr;
  const int32_t* idx;
  const int32_t* perm;  // null: values in the order of idx
  int64_t nnz, cols, k, pw, steps;
  const T* vals;
  const T* F;
  const T* X0;
  const T* P;
  T* X;
  const T* ridge;  // null: no ridge
};

namespace k_base {
#include "completion_body.h"
}
#if LR_X86
LR_TARGET_AVX2_BEGIN
namespace k_avx2 {
#include "completion_body.h"
}
LR_TARGET_END
LR_TARGET_AVX512_BEGIN
namespace k_avx512 {
#include "completion_body.h"
}
LR_TARGET_END
#endif

template <class T>
struct SegKernels {
  bool (*gram)(const GramArgs<T>&, int64_t, T*);
  bool (*cg)(const CgArgs<T>&, int64_t, T*);
  bool (*chol)(T*, int64_t, T, T);
};

template <class T>
const SegKernels<T>& segKernels() {
  static const SegKernels<T> s = [] {
#if LR_X86
    switch (kernelIsa()) {
      case Isa::Avx512: return SegKernels<T>{&k_avx512::gramSegment<T>, &k_avx512::cgSegment<T>, &k_avx512::cholSegment<T>};
      case Isa::Avx2: return SegKernels<T>{&k_avx2::gramSegment<T>, &k_avx2::cgSegment<T>, &k_avx2::cholSegment<T>};
      default: break;
    }
#endif
    return SegKernels<T>{&k_base::gramSegment<T>, &k_base::cgSegment<T>, &k_base::cholSegment<T>};
  }();
  return s;
}

// ---- segmentGram -------------------------------------------------------------------------------------

struct SegGramJob : Job {
  IntArray ptr, idx, order;
  bool hasOrder = false, diag = false;
  FloatArray F, out;
  int64_t segs = 0, cols = 0, nnz = 0, k = 0, sketchRows = 0;

  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      GramArgs<T> a{ptr.data, idx.data, hasOrder ? order.data : nullptr, nnz, cols, k, sketchRows, diag, F.ptr<T>(), out.ptr<T>()};
      auto* kern = segKernels<T>().gram;
      std::vector<std::vector<T>> scratch(static_cast<size_t>(std::max(threads, 1)), std::vector<T>(static_cast<size_t>(k) + 1));
      std::atomic<bool> ok{true};
      parallelFor(threads, segs, [&](int64_t j, int tid) {
        if (!kern(a, j, scratch[static_cast<size_t>(tid)].data())) ok.store(false);
      });
      if (!ok.load()) changed("segmentGram");
      return 0;
    });
  }
};

Napi::Value SegGram(const Napi::CallbackInfo& info) {
  const char* fn = "segmentGram";
  Args a(info, fn, 10);
  auto job = std::make_unique<SegGramJob>();
  SegGramJob& j = *job;
  j.ptr = a.ints(0, "ptr", *job);
  j.idx = a.ints(1, "idx", *job);
  j.segs = a.dim(2, "segs");
  j.cols = a.dim(3, "cols");
  j.F = a.floats(4, "F", *job);
  j.k = a.dim(5, "k");
  j.hasOrder = !info[6].IsNull();
  if (j.hasOrder) j.order = a.ints(6, "order", *job);
  j.sketchRows = a.dim(7, "sketchRows");
  j.out = a.floats(8, "out", *job);
  j.threads = a.threads(9);
  a.sameDtype(j.out, j.F, "out", "F");
  if (j.k > 4096) jsRangeError(a.env(), a.where("k") + " must be at most 4096");
  j.nnz = checkCsr(a, j.ptr, j.idx, j.segs, j.cols);
  const uint64_t full = static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k) * static_cast<uint64_t>(j.k);
  j.diag = j.k != 1 && j.out.length == static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k);
  if (!j.diag) a.needLength(j.out, full, "out");
  if (j.hasOrder) {
    if (j.diag) jsRangeError(a.env(), std::string(fn) + ": a sketch ('order') needs the full Gram (out of length segs * k * k)");
    if (j.sketchRows < 1) jsRangeError(a.env(), a.where("sketchRows") + " must be at least 1 with a sketch");
    checkIndexRange(a, j.order, j.nnz, "order", true);
  }
  a.needLength(j.F, static_cast<uint64_t>(j.cols) * static_cast<uint64_t>(j.k), "F");
  a.noAlias(j.out, j.F, "out", "F");
  j.cost = kPerElement * static_cast<double>(j.nnz) * static_cast<double>(j.k) * (j.diag ? 1.0 : 0.5 * static_cast<double>(j.k));
  return Submit(info.Env(), std::move(job));
}

// ---- choleskyBatch ------------------------------------------------------------------------------------

struct CholBatchJob : Job {
  FloatArray G, L, status;
  FloatArray ridge;  // Float64Array or absent
  bool hasRidge = false, inverse = false;
  double fallback = 0;
  int64_t segs = 0, k = 0;

  void Execute() override {
    withDtype(L.dtype, [&](auto z) {
      using T = decltype(z);
      const T* Gp = G.ptr<T>();
      T* Lp = L.ptr<T>();
      T* St = status.ptr<T>();
      const double* rp = hasRidge ? ridge.ptr<double>() : nullptr;
      const int64_t kk = k;
      const T u = std::numeric_limits<T>::epsilon() / 2;
      parallelFor(threads, segs, [&](int64_t j, int) {
        const T* g = Gp + j * kk * kk;
        T* l = Lp + j * kk * kk;
        T tr = 0;
        for (int64_t a = 0; a < kk; ++a) tr += g[a * kk + a];
        auto load = [&] {
          for (int64_t a = 0; a < kk; ++a)
            for (int64_t c = 0; c < kk; ++c) l[a * kk + c] = c <= a ? g[a * kk + c] : T(0);
        };
        const T tiny = static_cast<T>(kk) * u * tr;
        T st = 0;
        bool good = std::isfinite(tr) && tr > 0;
        if (good) {
          const T lam = static_cast<T>((rp ? std::max(rp[j], 0.0) : 0.0) * static_cast<double>(tr) / static_cast<double>(kk));
          load();
          good = segKernels<T>().chol(l, kk, lam, tiny);
          if (!good && fallback > 0) {
            const T lam2 = std::max(lam, static_cast<T>(fallback * static_cast<double>(tr) / static_cast<double>(kk)));
            load();
            good = segKernels<T>().chol(l, kk, lam2, tiny);
            st = 1;
          }
        }
        if (!good) {
          std::fill(l, l + kk * kk, T(0));
          St[j] = 2;
          return;
        }
        St[j] = st;
        if (inverse) {
          // Column c of L^{-1} (solve L w = e_c; rows < c are 0) reads only the lower triangle of L,
          // so the columns are computed right to left and parked transposed in the strict upper
          // triangle; the diagonal 1 / L[c, c] and the move to the lower triangle come last.
          std::vector<T> w(static_cast<size_t>(kk));
          for (int64_t c = kk - 1; c >= 0; --c) {
            for (int64_t i = c; i < kk; ++i) {
              T s = i == c ? T(1) : T(0);
              for (int64_t t = c; t < i; ++t) s -= l[i * kk + t] * w[t];
              w[i] = s / l[i * kk + i];
            }
            for (int64_t i = c + 1; i < kk; ++i) l[c * kk + i] = w[i];
          }
          for (int64_t c = 0; c < kk; ++c) {
            l[c * kk + c] = T(1) / l[c * kk + c];
            for (int64_t i = c + 1; i < kk; ++i) {
              l[i * kk + c] = l[c * kk + i];
              l[c * kk + i] = 0;
            }
          }
        }
      });
      return 0;
    });
  }
};

Napi::Value CholBatch(const Napi::CallbackInfo& info) {
  const char* fn = "choleskyBatch";
  Args a(info, fn, 9);
  auto job = std::make_unique<CholBatchJob>();
  CholBatchJob& j = *job;
  j.G = a.floats(0, "G", *job);
  j.segs = a.dim(1, "segs");
  j.k = a.dim(2, "k");
  j.hasRidge = !info[3].IsNull();
  if (j.hasRidge) {
    j.ridge = a.floats(3, "ridge", *job);
    a.needDtype(j.ridge, DType::F64, "ridge");
    a.needLength(j.ridge, static_cast<uint64_t>(j.segs), "ridge");
    const double* r = j.ridge.ptr<double>();
    for (int64_t s = 0; s < j.segs; ++s)
      if (!std::isfinite(r[s])) jsRangeError(a.env(), a.where("ridge") + ": entries must be finite");
  }
  j.fallback = a.finite(4, "fallback");
  j.inverse = a.boolean(5, "inverse");
  j.L = a.floats(6, "L", *job);
  j.status = a.floats(7, "status", *job);
  j.threads = a.threads(8);
  if (j.k > 4096) jsRangeError(a.env(), a.where("k") + " must be at most 4096");
  a.sameDtype(j.L, j.G, "L", "G");
  a.sameDtype(j.status, j.G, "status", "G");
  const uint64_t kk = static_cast<uint64_t>(j.k) * static_cast<uint64_t>(j.k);
  a.needLength(j.G, static_cast<uint64_t>(j.segs) * kk, "G");
  a.needLength(j.L, static_cast<uint64_t>(j.segs) * kk, "L");
  a.needLength(j.status, static_cast<uint64_t>(j.segs), "status");
  a.noAlias(j.L, j.G, "L", "G");
  a.noAlias(j.status, j.G, "status", "G");
  a.noAlias(j.status, j.L, "status", "L");
  if (j.hasRidge) {
    a.noAlias(j.L, j.ridge, "L", "ridge");
    a.noAlias(j.status, j.ridge, "status", "ridge");
  }
  j.cost = kFactorWeight * static_cast<double>(j.segs) * static_cast<double>(j.k) * static_cast<double>(kk) * (j.inverse ? 1.0 : 0.34);
  return Submit(info.Env(), std::move(job));
}

// ---- choleskySolveBatch -------------------------------------------------------------------------------

struct CholSolveBatchJob : Job {
  FloatArray L, H, X;
  int64_t segs = 0, k = 0;

  void Execute() override {
    if (k == 0) return;
    withDtype(X.dtype, [&](auto z) {
      using T = decltype(z);
      const int64_t kk = k;
      const T* Lp = L.ptr<T>();
      const T* Hp = H.ptr<T>();
      T* Xp = X.ptr<T>();
      parallelFor(threads, segs, [&](int64_t j, int) {
        const T* l = Lp + j * kk * kk;
        const T* h = Hp + j * kk;
        T* x = Xp + j * kk;
        if (l[0] == T(0)) {
          std::fill(x, x + kk, T(0));
          return;
        }
        for (int64_t i = 0; i < kk; ++i) {
          T s = h[i];
          for (int64_t t = 0; t < i; ++t) s -= l[i * kk + t] * x[t];
          x[i] = s / l[i * kk + i];
        }
        for (int64_t i = kk - 1; i >= 0; --i) {
          T s = x[i];
          for (int64_t t = i + 1; t < kk; ++t) s -= l[t * kk + i] * x[t];
          x[i] = s / l[i * kk + i];
        }
      });
      return 0;
    });
  }
};

Napi::Value CholSolveBatch(const Napi::CallbackInfo& info) {
  const char* fn = "choleskySolveBatch";
  Args a(info, fn, 6);
  auto job = std::make_unique<CholSolveBatchJob>();
  CholSolveBatchJob& j = *job;
  j.L = a.floats(0, "L", *job);
  j.segs = a.dim(1, "segs");
  j.k = a.dim(2, "k");
  j.H = a.floats(3, "H", *job);
  j.X = a.floats(4, "X", *job);
  j.threads = a.threads(5);
  if (j.k > 4096) jsRangeError(a.env(), a.where("k") + " must be at most 4096");
  a.sameDtype(j.X, j.L, "X", "L");
  a.sameDtype(j.X, j.H, "X", "H");
  a.needLength(j.L, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k) * static_cast<uint64_t>(j.k), "L");
  a.needLength(j.H, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k), "H");
  a.needLength(j.X, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k), "X");
  a.noAlias(j.X, j.L, "X", "L");
  a.noAlias(j.X, j.H, "X", "H");
  j.cost = static_cast<double>(j.segs) * 2.0 * static_cast<double>(j.k) * static_cast<double>(j.k);
  return Submit(info.Env(), std::move(job));
}

// ---- segmentCG -----------------------------------------------------------------------------------------

struct SegCgJob : Job {
  IntArray ptr, idx, perm;
  bool hasPerm = false;
  FloatArray vals, F, X0, P, X, ridge;
  bool hasRidge = false;
  int64_t segs = 0, cols = 0, nnz = 0, k = 0, pw = 0, steps = 0;

  void Execute() override {
    withDtype(X.dtype, [&](auto z) {
      using T = decltype(z);
      CgArgs<T> a{ptr.data, idx.data, hasPerm ? perm.data : nullptr, nnz, cols, k, pw, steps,
                  vals.ptr<T>(), F.ptr<T>(), X0.ptr<T>(), P.ptr<T>(), X.ptr<T>(), hasRidge ? ridge.ptr<T>() : nullptr};
      auto* kern = segKernels<T>().cg;
      std::vector<std::vector<T>> scratch(static_cast<size_t>(std::max(threads, 1)), std::vector<T>(static_cast<size_t>(5 * k) + 1));
      std::atomic<bool> ok{true};
      parallelFor(threads, segs, [&](int64_t j, int tid) {
        if (!kern(a, j, scratch[static_cast<size_t>(tid)].data())) ok.store(false);
      });
      if (!ok.load()) changed("segmentCG");
      return 0;
    });
  }
};

Napi::Value SegCg(const Napi::CallbackInfo& info) {
  const char* fn = "segmentCG";
  Args a(info, fn, 15);
  auto job = std::make_unique<SegCgJob>();
  SegCgJob& j = *job;
  j.ptr = a.ints(0, "ptr", *job);
  j.idx = a.ints(1, "idx", *job);
  j.vals = a.floats(2, "vals", *job);
  j.hasPerm = !info[3].IsNull();
  if (j.hasPerm) j.perm = a.ints(3, "perm", *job);
  j.segs = a.dim(4, "segs");
  j.cols = a.dim(5, "cols");
  j.F = a.floats(6, "F", *job);
  j.k = a.dim(7, "k");
  j.X0 = a.floats(8, "X0", *job);
  j.P = a.floats(9, "P", *job);
  j.pw = a.dim(10, "pw");
  j.steps = a.dim(11, "steps");
  j.X = a.floats(12, "X", *job);
  j.hasRidge = !info[13].IsNull();
  if (j.hasRidge) j.ridge = a.floats(13, "ridge", *job);
  j.threads = a.threads(14);
  if (j.k > 4096) jsRangeError(a.env(), a.where("k") + " must be at most 4096");
  if (j.pw != j.k && j.pw != j.k * j.k) jsRangeError(a.env(), a.where("pw") + " must be k or k * k");
  for (const FloatArray* f : {&j.vals, &j.F, &j.X0, &j.P}) a.sameDtype(j.X, *f, "X", "inputs");
  j.nnz = checkCsr(a, j.ptr, j.idx, j.segs, j.cols);
  if (j.hasPerm) checkIndexRange(a, j.perm, j.nnz, "perm", false);
  a.needLength(j.vals, static_cast<uint64_t>(j.nnz), "vals");
  a.needLength(j.F, static_cast<uint64_t>(j.cols) * static_cast<uint64_t>(j.k), "F");
  a.needLength(j.X0, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k), "X0");
  a.needLength(j.P, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.pw), "P");
  a.needLength(j.X, static_cast<uint64_t>(j.segs) * static_cast<uint64_t>(j.k), "X");
  a.noAlias(j.X, j.vals, "X", "vals");
  a.noAlias(j.X, j.F, "X", "F");
  a.noAlias(j.X, j.X0, "X", "X0");
  a.noAlias(j.X, j.P, "X", "P");
  if (j.hasRidge) {
    a.sameDtype(j.X, j.ridge, "X", "ridge");
    a.needLength(j.ridge, static_cast<uint64_t>(j.segs), "ridge");
    a.noAlias(j.X, j.ridge, "X", "ridge");
  }
  j.cost = kPerElement * static_cast<double>(j.nnz) * static_cast<double>(j.k) * static_cast<double>(j.steps + 1) +
           static_cast<double>(j.segs) * static_cast<double>(j.pw) * 2.0 * static_cast<double>(j.steps);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterCompletion(Napi::Env env, Napi::Object exports) {
  exports.Set("segmentGram", Napi::Function::New(env, SegGram, "segmentGram"));
  exports.Set("choleskyBatch", Napi::Function::New(env, CholBatch, "choleskyBatch"));
  exports.Set("choleskySolveBatch", Napi::Function::New(env, CholSolveBatch, "choleskySolveBatch"));
  exports.Set("segmentCG", Napi::Function::New(env, SegCg, "segmentCG"));
}

}  // namespace lr
