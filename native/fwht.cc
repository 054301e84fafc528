// The fwht binding (the algorithm is plain C++ in fwht_kernels.cc, fwht.h).
//
//   fwht(out, x, L, b, threads): out (L x b, row-major) = H_L x per column, unnormalised; L a power of two.
#include "common.h"
#include "fwht.h"

namespace lr {
namespace {

struct FwhtJob : Job {
  FloatArray out, x;
  int64_t L = 0, b = 0;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::fwht<T>(out.ptr<T>(), x.ptr<T>(), L, b, threads);
      return 0;
    });
  }
};

Napi::Value Fwht(const Napi::CallbackInfo& info) {
  Args a(info, "fwht", 5);
  auto job = std::make_unique<FwhtJob>();
  job->out = a.floats(0, "out", *job);
  job->x = a.floats(1, "x", *job);
  job->L = a.dim(2, "L");
  job->b = a.dim(3, "b");
  job->threads = a.threads(4);
  if (job->L <= 0 || (job->L & (job->L - 1)) != 0) jsRangeError(info.Env(), a.where("L") + " must be a power of two");
  a.sameDtype(job->out, job->x, "out", "x");
  a.needLength(job->out, static_cast<uint64_t>(job->L) * job->b, "out");
  a.needLength(job->x, static_cast<uint64_t>(job->L) * job->b, "x");
  a.noAlias(job->out, job->x, "out", "x");
  int64_t logL = 0;
  while ((int64_t{1} << logL) < job->L) ++logL;
  job->cost = kPerElement * static_cast<double>(job->out.length) * static_cast<double>(logL + 1);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterFwht(Napi::Env env, Napi::Object exports) { exports.Set("fwht", Napi::Function::New(env, Fwht, "fwht")); }

}  // namespace lr
