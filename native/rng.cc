// rand / randn fill kernels over the documented Philox stream.
//
// key = (seed mod 2^32, floor(seed / 2^32)); counter = (block mod 2^32, block div 2^32, stream, 0).
//   f32 rand:  element e <- block e/4, word e%4, u = ((w >> 9) + 0.5) 2^-23
//   f64 rand:  element e <- block e/2, words (2(e%2), 2(e%2)+1), 52-bit u
//   f32 randn: block b gives 4 uniforms u0..u3 -> (r1 cos t1, r1 sin t1, r2 cos t2, r2 sin t2),
//              r = sqrt(-2 ln u_even), t = 2 pi u_odd, computed in binary32
//   f64 randn: block b gives 2 uniforms -> (r cos t, r sin t) in binary64
#include "common.h"
#include "philox.h"
#include "threadpool.h"

namespace lr {
namespace {

template <class T>
void fillUniform(T* out, int64_t n, uint32_t k0, uint32_t k1, uint32_t stream, int threads);

template <>
void fillUniform<float>(float* out, int64_t n, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
  int64_t blocks = (n + 3) / 4;
  parallelRanges(threads, blocks, 1 << 14, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      Philox4 r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32), stream, 0, k0, k1);
      for (int j = 0; j < 4; ++j) {
        int64_t e = 4 * b + j;
        if (e < n) out[e] = u32ToUnitF32(r.v[j]);
      }
    }
  });
}

template <>
void fillUniform<double>(double* out, int64_t n, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
  int64_t blocks = (n + 1) / 2;
  parallelRanges(threads, blocks, 1 << 14, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      Philox4 r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32), stream, 0, k0, k1);
      for (int j = 0; j < 2; ++j) {
        int64_t e = 2 * b + j;
        if (e < n) out[e] = u32x2ToUnitF64(r.v[2 * j], r.v[2 * j + 1]);
      }
    }
  });
}

template <class T>
void fillNormal(T* out, int64_t n, uint32_t k0, uint32_t k1, uint32_t stream, int threads);

template <>
void fillNormal<float>(float* out, int64_t n, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
  int64_t blocks = (n + 3) / 4;
  parallelRanges(threads, blocks, 1 << 12, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      Philox4 r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32), stream, 0, k0, k1);
      float z[4];
      for (int p = 0; p < 2; ++p) {
        float u0 = u32ToUnitF32(r.v[2 * p]), u1 = u32ToUnitF32(r.v[2 * p + 1]);
        float rad = std::sqrt(-2.0f * std::log(u0));
        float t = kTwoPiF * u1;
        z[2 * p] = rad * std::cos(t);
        z[2 * p + 1] = rad * std::sin(t);
      }
      for (int j = 0; j < 4; ++j) {
        int64_t e = 4 * b + j;
        if (e < n) out[e] = z[j];
      }
    }
  });
}

template <>
void fillNormal<double>(double* out, int64_t n, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
  int64_t blocks = (n + 1) / 2;
  parallelRanges(threads, blocks, 1 << 12, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      Philox4 r = philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(static_cast<uint64_t>(b) >> 32), stream, 0, k0, k1);
      double u0 = u32x2ToUnitF64(r.v[0], r.v[1]), u1 = u32x2ToUnitF64(r.v[2], r.v[3]);
      double rad = std::sqrt(-2.0 * std::log(u0));
      double t = kTwoPi * u1;
      int64_t e = 2 * b;
      if (e < n) out[e] = rad * std::cos(t);
      if (e + 1 < n) out[e + 1] = rad * std::sin(t);
    }
  });
}

struct RngJob : Job {
  FloatArray out;
  uint32_t k0, k1, stream;
  bool normal;
  void Execute() override {
    withDtype(out.dtype, [&](auto z) {
      using T = decltype(z);
      int64_t n = static_cast<int64_t>(out.length);
      if (normal) fillNormal<T>(out.ptr<T>(), n, k0, k1, stream, threads);
      else fillUniform<T>(out.ptr<T>(), n, k0, k1, stream, threads);
      return 0;
    });
  }
};

// random(out, kind: 'uniform' | 'normal', seedLo, seedHi, stream, threads) -> Promise<void>
Napi::Value Random(const Napi::CallbackInfo& info) {
  Args a(info, "random", 6);
  auto job = std::make_unique<RngJob>();
  job->out = a.floats(0, "out");
  std::string kind = a.string(1, "kind");
  if (kind != "uniform" && kind != "normal") jsRangeError(a.env(), a.where("kind") + " must be 'uniform' or 'normal'");
  job->normal = kind == "normal";
  auto word = [&](size_t i, const char* name) {
    double d = a.number(i, name);
    if (!(d >= 0 && d <= 4294967295.0) || d != std::floor(d)) jsRangeError(a.env(), a.where(name) + " must be an integer in [0, 2^32)");
    return static_cast<uint32_t>(d);
  };
  job->k0 = word(2, "seedLo");
  job->k1 = word(3, "seedHi");
  job->stream = word(4, "stream");
  job->threads = a.threads(5);
  job->cost = static_cast<double>(job->out.length) * (job->normal ? 10.0 : 2.5) * kPerElement;
  job->keep(job->out);
  return Submit(info.Env(), std::move(job));
}

}  // namespace

void RegisterRng(Napi::Env env, Napi::Object exports) { exports.Set("random", Napi::Function::New(env, Random, "random")); }

}  // namespace lr
