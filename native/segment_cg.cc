// segmentCG: preconditioned CG steps per segment, the binding (see completion.cc for the contract; the
// kernels are in completion_kernels.cc).
#include "completion.h"
#include "completion_kernels.h"
#include "csr.h"

namespace lr {
namespace seg {
namespace {

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
      la::CgArgs<T> a{ptr.data,
                      idx.data,
                      hasPerm ? perm.data : nullptr,
                      nnz,
                      cols,
                      k,
                      pw,
                      steps,
                      vals.ptr<T>(),
                      F.ptr<T>(),
                      X0.ptr<T>(),
                      P.ptr<T>(),
                      X.ptr<T>(),
                      hasRidge ? ridge.ptr<T>() : nullptr};
      la::segmentCG(a, segs, threads);
      return 0;
    });
  }
};

}  // namespace

Napi::Value SegmentCG(const Napi::CallbackInfo& info) {
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

}  // namespace seg
}  // namespace lr
