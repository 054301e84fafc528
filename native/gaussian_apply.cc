// Matrix-free Gaussian measurements for robust matrix sensing (SubGM): the gaussianApply and
// gaussianAdjoint exports (one family file; the element-wise sign it also needs is in core.cc).
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
#include <algorithm>
#include <vector>

#include "common.h"
#include "normals.h"
#include "threadpool.h"

namespace lr {
namespace {

struct Stream {
  uint32_t k0, k1, stream;
};

// out[j] = normal stream element first + j for j < len (sequential; the transform of randn).
template <class T>
inline void normalSegment(T* out, int64_t len, uint64_t first, const Stream& s) {
  philoxNormals(out, len, first, PhiloxKey{s.k0, s.k1, s.stream});
}

constexpr int64_t kChunk = 1024;  // normals generated per segment (a multiple of 8)

struct GaussJob : Job {
  FloatArray in, out;
  int64_t m = 0, n = 0;  // A is m x n
  Stream s{};
  uint64_t offset = 0;
  bool adjoint = false;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      if (adjoint)
        runAdjoint<T>();
      else
        runApply<T>();
      return 0;
    });
  }
  template <class T>
  void runApply() {
    const T* x = in.ptr<T>();
    T* y = out.ptr<T>();
    const int64_t rowsPerTask = std::max<int64_t>(1, (64 * 1024) / std::max<int64_t>(n, 1));
    const int64_t tasks = (m + rowsPerTask - 1) / rowsPerTask;
    parallelFor(threads, tasks, [&](int64_t t, int) {
      std::vector<T> buf(static_cast<size_t>(std::min(n, kChunk)));
      const int64_t i1 = std::min(m, (t + 1) * rowsPerTask);
      for (int64_t i = t * rowsPerTask; i < i1; ++i) {
        const uint64_t row = offset + static_cast<uint64_t>(i) * static_cast<uint64_t>(n);
        // 8 partial sums (entry e goes to sum e mod 8; kChunk is a multiple of 8), added in a fixed
        // order: independent add chains, and the same result for every thread count.
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
          const int64_t len = std::min(kChunk, n - c0);
          normalSegment<T>(buf.data(), len, row + static_cast<uint64_t>(c0), s);
          const T* xc = x + c0;
          int64_t j = 0;
          for (; j + 8 <= len; j += 8)
            for (int l = 0; l < 8; ++l) acc[l] += static_cast<double>(buf[j + l]) * static_cast<double>(xc[j + l]);
          for (int l = 0; j < len; ++j, ++l) acc[l] += static_cast<double>(buf[j]) * static_cast<double>(xc[j]);
        }
        y[i] = static_cast<T>(((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])));
      }
    });
  }
  template <class T>
  void runAdjoint() {
    const T* r = in.ptr<T>();
    T* z = out.ptr<T>();
    // Entry blocks: small enough to give every thread work, large enough to waste little of the
    // partial Philox blocks at segment ends.
    const int64_t want = (n + 4 * static_cast<int64_t>(threads) - 1) / (4 * static_cast<int64_t>(threads));
    const int64_t chunk = std::min(kChunk, std::max<int64_t>(128, want));
    const int64_t tasks = (n + chunk - 1) / chunk;
    parallelFor(threads, tasks, [&](int64_t t, int) {
      const int64_t e0 = t * chunk, len = std::min(chunk, n - e0);
      std::vector<T> buf(static_cast<size_t>(len));
      std::vector<double> acc(static_cast<size_t>(len), 0.0);
      for (int64_t i = 0; i < m; ++i) {
        const double ri = static_cast<double>(r[i]);
        normalSegment<T>(buf.data(), len,
                         offset + static_cast<uint64_t>(i) * static_cast<uint64_t>(n) + static_cast<uint64_t>(e0), s);
        for (int64_t j = 0; j < len; ++j) acc[j] += ri * static_cast<double>(buf[j]);
      }
      for (int64_t j = 0; j < len; ++j) z[e0 + j] = static_cast<T>(acc[j]);
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
