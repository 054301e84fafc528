// Matrix-free Gaussian measurements for robust matrix sensing (SubGM): the gaussianApply and
// gaussianAdjoint bindings (one family file; the element-wise sign it also needs is in core.cc); the
// algorithms are plain C++ in gaussian_apply_kernels.cc (gaussian_apply.h).
//
// The measurement matrix A (m x N) is never stored: A[i, e] is element offset + i N + e of the Philox
// normal stream of (seed, stream), i.e. exactly the entry engine.randn(m, N, { seed, offset }) holds
// (same transform as native/rng.cc: f32 Box-Muller on 4 words per block, f64 on 2 uniforms per block).
//
//   gaussianApply(x, N, m, out, seedLo, seedHi, stream, offsetLo, offsetHi, threads)
//     out[i] = sum_e A[i, e] x[e]        (x: N, out: m)
//   gaussianAdjoint(r, m, N, out, seedLo, seedHi, stream, offsetLo, offsetHi, threads)
//     out[e] = sum_i A[i, e] r[i]        (r: m, out: N)
//
// Both products regenerate every entry of A once per call, so they are bound by the generator (see
// native/normals.h), not by memory. apply owns one measurement per task; the adjoint owns a
// block of entries per task and walks all measurements, so every output is accumulated by one thread
// in a fixed order (in double): results do not depend on the thread count.
#include <cmath>

#include "common.h"
#include "gaussian_apply.h"

namespace lr {
namespace {

struct GaussJob : Job {
  FloatArray in, out;
  int64_t m = 0, n = 0;  // A is m x n
  PhiloxKey s{};
  uint64_t offset = 0;
  bool adjoint = false;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      if (adjoint)
        la::gaussianAdjoint<T>(in.ptr<T>(), m, n, s, offset, out.ptr<T>(), threads);
      else
        la::gaussianApply<T>(in.ptr<T>(), m, n, s, offset, out.ptr<T>(), threads);
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

// gaussianApply(x, N, m, out, ...) and gaussianAdjoint(r, m, N, out, ...): shared parsing.
Napi::Value Gauss(const Napi::CallbackInfo& info, bool adjoint) {
  const char* fn = adjoint ? "gaussianAdjoint" : "gaussianApply";
  Args a(info, fn, 10);
  auto job = std::make_unique<GaussJob>();
  job->adjoint = adjoint;
  job->in = a.floats(0, adjoint ? "r" : "x", *job);
  int64_t d1 = a.dim(1, adjoint ? "m" : "N");
  int64_t d2 = a.dim(2, adjoint ? "N" : "m");
  job->out = a.floats(3, "out", *job);
  job->m = adjoint ? d1 : d2;
  job->n = adjoint ? d2 : d1;
  a.sameDtype(job->out, job->in, "out", adjoint ? "r" : "x");
  a.needLength(job->in, static_cast<uint64_t>(d1), adjoint ? "r" : "x");
  a.needLength(job->out, static_cast<uint64_t>(d2), "out");
  a.noAlias(job->out, job->in, "out", adjoint ? "r" : "x");
  job->s.k0 = word(a, 4, "seedLo");
  job->s.k1 = word(a, 5, "seedHi");
  job->s.stream = word(a, 6, "stream");
  uint32_t lo = word(a, 7, "offsetLo"), hi = word(a, 8, "offsetHi");
  job->offset = (static_cast<uint64_t>(hi) << 32) | lo;
  job->threads = a.threads(9);
  job->cost = static_cast<double>(job->m) * static_cast<double>(job->n) * 12.0 * kPerElement;
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterGaussianApply(Napi::Env env, Napi::Object exports) {
  exports.Set("gaussianApply", Napi::Function::New(
                                   env, [](const Napi::CallbackInfo& i) { return Gauss(i, false); }, "gaussianApply"));
  exports.Set("gaussianAdjoint",
              Napi::Function::New(
                  env, [](const Napi::CallbackInfo& i) { return Gauss(i, true); }, "gaussianAdjoint"));
}

}  // namespace lr
