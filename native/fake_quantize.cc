// Binding of the group-wise quantize-dequantize fakeQuantize (argument checks, a Job, the call); the
// algorithm is plain C++ in fake_quantize_kernels.cc (fake_quantize.h).
#include <cmath>

#include "common.h"
#include "fake_quantize.h"

namespace lr {
namespace {

struct FakeQuantizeJob : Job {
  FloatArray out, w;
  int64_t gs = 1;
  int bits = 8;
  bool stochastic = false;
  uint32_t k0 = 0, k1 = 0, stream = 0;
  uint64_t offset = 0;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      la::fakeQuantize<T>(out.ptr<T>(), w.ptr<T>(), static_cast<int64_t>(out.length), gs, bits, stochastic, k0, k1,
                          stream, offset, threads);
      return 0;
    });
  }
};

uint32_t word(const Args& a, size_t i, const char* name) {
  double d = a.number(i, name);
  if (!(d >= 0 && d <= 4294967295.0) || d != std::floor(d))
    jsRangeError(a.env(), a.where(name) + " must be an integer in [0, 2^32)");
  return static_cast<uint32_t>(d);
}

// fakeQuantize(out, w, bits, groupSize, stochastic, seedLo, seedHi, stream, offsetLo, offsetHi, threads):
// out = the group-wise quantize-dequantize of w (fake_quantize.h); out and w of one dtype and length.
Napi::Value FakeQuantize(const Napi::CallbackInfo& info) {
  Args a(info, "fakeQuantize", 11);
  auto job = std::make_unique<FakeQuantizeJob>();
  job->out = a.floats(0, "out", *job);
  job->w = a.floats(1, "w", *job);
  double bits = a.number(2, "bits");
  if (!(bits >= 2 && bits <= 8) || bits != std::floor(bits))
    jsRangeError(a.env(), a.where("bits") + " must be an integer in [2, 8]");
  job->bits = static_cast<int>(bits);
  job->gs = a.dim(3, "groupSize");
  if (job->gs < 1) jsRangeError(a.env(), a.where("groupSize") + " must be >= 1");
  job->stochastic = a.boolean(4, "stochastic");
  job->k0 = word(a, 5, "seedLo");
  job->k1 = word(a, 6, "seedHi");
  job->stream = word(a, 7, "stream");
  uint32_t lo = word(a, 8, "offsetLo"), hi = word(a, 9, "offsetHi");
  job->offset = (static_cast<uint64_t>(hi) << 32) | lo;
  job->threads = a.threads(10);
  a.sameDtype(job->out, job->w, "out", "w");
  a.needLength(job->w, job->out.length, "w");
  a.noAlias(job->out, job->w, "out", "w");
  job->cost = (job->stochastic ? 8.0 : 3.0) * kPerElement * static_cast<double>(job->out.length);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterFakeQuantize(Napi::Env env, Napi::Object exports) {
  exports.Set("fakeQuantize", Napi::Function::New(env, FakeQuantize, "fakeQuantize"));
}

}  // namespace lr
