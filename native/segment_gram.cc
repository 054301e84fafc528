// segmentGram: Gram matrices of the segments, the binding (see completion.cc for the contract; the kernels
// are in completion_kernels.cc).
#include <string>

#include "completion.h"
#include "completion_kernels.h"
#include "csr.h"

namespace lr {
namespace seg {
namespace {

// ---- segmentGram -------------------------------------------------------------------------------------

struct SegGramJob : Job {
  IntArray ptr, idx, order;
  bool hasOrder = false, diag = false;
  FloatArray F, out;
  int64_t segs = 0, cols = 0, nnz = 0, k = 0, sketchRows = 0;

  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::GramArgs<T> a{ptr.data,   idx.data,    hasOrder ? order.data : nullptr, nnz, cols, k, sketchRows, diag,
                        F.ptr<T>(), out.ptr<T>()};
      la::segmentGram(a, segs, threads);
      return 0;
    });
  }
};

}  // namespace

Napi::Value SegmentGram(const Napi::CallbackInfo& info) {
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
    if (j.diag)
      jsRangeError(a.env(), std::string(fn) + ": a sketch ('order') needs the full Gram (out of length segs * k * k)");
    if (j.sketchRows < 1) jsRangeError(a.env(), a.where("sketchRows") + " must be at least 1 with a sketch");
    checkIndexRange(a, j.order, j.nnz, "order", true);
  }
  a.needLength(j.F, static_cast<uint64_t>(j.cols) * static_cast<uint64_t>(j.k), "F");
  a.noAlias(j.out, j.F, "out", "F");
  j.cost = kPerElement * static_cast<double>(j.nnz) * static_cast<double>(j.k) *
           (j.diag ? 1.0 : 0.5 * static_cast<double>(j.k));
  return Submit(info.Env(), std::move(job));
}

}  // namespace seg
}  // namespace lr
