// CSR sparse x dense (SpMM) and sampled dense-dense products (SDDMM): the bindings (the algorithms are
// in sparse_kernels.cc).
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
#include <string>

#include "common.h"
#include "csr.h"
#include "sparse.h"

namespace lr {
namespace {

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
    withDtype(C.dtype, [&](auto z) {
      using T = decltype(z);
      if (!la::spmm<T>(ptr.data, idx.data, vals.ptr<T>(), hasPerm ? perm.data : nullptr, rows, cols, nnz, B.ptr<T>(), p,
                       C.ptr<T>(), threads))
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
  j.ptr = a.ints(0, "ptr", *job);
  j.idx = a.ints(1, "idx", *job);
  j.vals = a.floats(2, "vals", *job);
  j.hasPerm = !info[3].IsNull();
  if (j.hasPerm) j.perm = a.ints(3, "perm", *job);
  j.rows = a.dim(4, "rows");
  j.cols = a.dim(5, "cols");
  j.B = a.floats(6, "B", *job);
  j.p = a.dim(7, "p");
  j.C = a.floats(8, "C", *job);
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
  return Submit(info.Env(), std::move(job));
}

// ---- sddmm --------------------------------------------------------------------------------------------

struct SddmmJob : Job {
  IntArray ptr, idx;
  FloatArray U, V, out;
  int64_t rows = 0, cols = 0, nnz = 0, k = 0;

  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      if (!la::sddmm<T>(ptr.data, idx.data, rows, cols, nnz, U.ptr<T>(), V.ptr<T>(), k, out.ptr<T>(), threads))
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
  j.ptr = a.ints(0, "ptr", *job);
  j.idx = a.ints(1, "idx", *job);
  j.rows = a.dim(2, "rows");
  j.cols = a.dim(3, "cols");
  j.U = a.floats(4, "U", *job);
  j.V = a.floats(5, "V", *job);
  j.k = a.dim(6, "k");
  j.out = a.floats(7, "out", *job);
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
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterSparse(Napi::Env env, Napi::Object exports) {
  exports.Set("spmm", Napi::Function::New(env, Spmm, "spmm"));
  exports.Set("sddmm", Napi::Function::New(env, Sddmm, "sddmm"));
}

}  // namespace lr
