// rand / randn fill kernels over the documented Philox stream.
//
// key = (seed mod 2^32, floor(seed / 2^32)); counter = (block mod 2^32, block div 2^32, stream, 0).
//   f32 rand:  element e <- block e/4, word e%4, u = ((w >> 9) + 0.5) 2^-23
//   f64 rand:  element e <- block e/2, words (2(e%2), 2(e%2)+1), 52-bit u
//   f32 randn: block b gives 4 uniforms u0..u3 -> (r1 cos t1, r1 sin t1, r2 cos t2, r2 sin t2),
//              r = sqrt(-2 ln u_even), t = 2 pi u_odd, computed in binary32
//   f64 randn: block b gives 2 uniforms -> (r cos t, r sin t) in binary64
// Entry i of an output is stream element e = offset + i (offset: a 64-bit element index, arithmetic
// mod 2^64), so a block of rows of a large matrix can be generated on its own.
#include "common.h"
#include "normals.h"
#include "philox.h"
#include "threadpool.h"

namespace lr {
namespace {

inline Philox4 block(uint64_t b, uint32_t k0, uint32_t k1, uint32_t stream) {
  return philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), stream, 0, k0, k1);
}

// Calls emit(t, words) for the W-element Philox blocks covering elements [offset, offset + n):
// block t (t = 0, 1, ...) is stream block (offset / W) + t; its element j is output entry
// W t + j - (offset mod W) when that lies in [0, n).
template <int W, class Emit>
void forBlocks(int64_t n, uint64_t offset, int64_t minChunk, int threads, Emit&& emit) {
  const uint64_t b0 = offset / W;
  const int64_t r = static_cast<int64_t>(offset % W);
  const int64_t blocks = (r + n + W - 1) / W;
  parallelRanges(threads, blocks, minChunk, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) emit(b0 + static_cast<uint64_t>(t), W * t - r);
  });
}

template <class T>
void fillUniform(T* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads);

template <>
void fillUniform<float>(float* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream,
                        int threads) {
  forBlocks<4>(n, offset, 1 << 14, threads, [&](uint64_t b, int64_t e0) {
    Philox4 r = block(b, k0, k1, stream);
    for (int j = 0; j < 4; ++j) {
      int64_t e = e0 + j;
      if (e >= 0 && e < n) out[e] = u32ToUnitF32(r.v[j]);
    }
  });
}

template <>
void fillUniform<double>(double* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream,
                         int threads) {
  forBlocks<2>(n, offset, 1 << 14, threads, [&](uint64_t b, int64_t e0) {
    Philox4 r = block(b, k0, k1, stream);
    for (int j = 0; j < 2; ++j) {
      int64_t e = e0 + j;
      if (e >= 0 && e < n) out[e] = u32x2ToUnitF64(r.v[2 * j], r.v[2 * j + 1]);
    }
  });
}

// Normals: contiguous chunks of the output, each through philoxNormals (SIMD where the CPU has it).
template <class T>
void fillNormal(T* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
  const PhiloxKey key{k0, k1, stream};
  parallelRanges(threads, n, 1 << 14, [&](int64_t i0, int64_t i1, int) {
    philoxNormals(out + i0, i1 - i0, offset + static_cast<uint64_t>(i0), key);
  });
}

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
        fillNormal<T>(out.ptr<T>(), n, offset, k0, k1, stream, threads);
      else
        fillUniform<T>(out.ptr<T>(), n, offset, k0, k1, stream, threads);
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
