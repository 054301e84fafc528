// The random binding (argument checks, a Job, the call): rand / randn fills over the documented Philox
// stream; the kernels are plain C++ in rng_kernels.cc (rng.h, which documents the stream).
#include "common.h"
#include "rng.h"

namespace lr {
namespace {

struct RngJob : Job {
  FloatArray out;
  uint32_t k0, k1, stream;
  uint64_t offset = 0;
  bool normal;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      int64_t n = static_cast<int64_t>(out.length);
      if (normal)
        la::fillNormal<T>(out.ptr<T>(), n, offset, k0, k1, stream, threads);
      else
        la::fillUniform(out.ptr<T>(), n, offset, k0, k1, stream, threads);
      return 0;
    });
  }
};

// random(out, kind: 'uniform' | 'normal', seedLo, seedHi, stream, offsetLo, offsetHi, threads) -> Promise<void>
// out[i] = stream element offset + i, offset = offsetHi 2^32 + offsetLo.
Napi::Value Random(const Napi::CallbackInfo& info) {
  Args a(info, "random", 8);
  auto job = std::make_unique<RngJob>();
  job->out = a.floats(0, "out", *job);
  std::string kind = a.string(1, "kind");
  if (kind != "uniform" && kind != "normal") jsRangeError(a.env(), a.where("kind") + " must be 'uniform' or 'normal'");
  job->normal = kind == "normal";
  auto word = [&](size_t i, const char* name) {
    double d = a.number(i, name);
    if (!(d >= 0 && d <= 4294967295.0) || d != std::floor(d))
      jsRangeError(a.env(), a.where(name) + " must be an integer in [0, 2^32)");
    return static_cast<uint32_t>(d);
  };
  job->k0 = word(2, "seedLo");
  job->k1 = word(3, "seedHi");
  job->stream = word(4, "stream");
  uint32_t lo = word(5, "offsetLo"), hi = word(6, "offsetHi");
  job->offset = (static_cast<uint64_t>(hi) << 32) | lo;
  job->threads = a.threads(7);
  job->cost = static_cast<double>(job->out.length) * (job->normal ? 10.0 : 2.5) * kPerElement;
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterRng(Napi::Env env, Napi::Object exports) {
  exports.Set("random", Napi::Function::New(env, Random, "random"));
}

}  // namespace lr
