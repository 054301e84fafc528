// rand / randn fill kernels over the documented Philox stream (rng.h; the random binding is in rng.cc).
//
// key = (seed mod 2^32, floor(seed / 2^32)); counter = (block mod 2^32, block div 2^32, stream, 0).
//   f32 rand:  element e <- block e/4, word e%4, u = ((w >> 9) + 0.5) 2^-23
//   f64 rand:  element e <- block e/2, words (2(e%2), 2(e%2)+1), 52-bit u
//   f32 randn: block b gives 4 uniforms u0..u3 -> (r1 cos t1, r1 sin t1, r2 cos t2, r2 sin t2),
//              r = sqrt(-2 ln u_even), t = 2 pi u_odd, computed in binary32
//   f64 randn: block b gives 2 uniforms -> (r cos t, r sin t) in binary64
// Entry i of an output is stream element e = offset + i (offset: a 64-bit element index, arithmetic
// mod 2^64), so a block of rows of a large matrix can be generated on its own.
#include "normals.h"
#include "philox.h"
#include "rng.h"
#include "threadpool.h"

namespace lr {
namespace la {
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

}  // namespace

void fillUniform(float* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
  forBlocks<4>(n, offset, 1 << 14, threads, [&](uint64_t b, int64_t e0) {
    Philox4 r = block(b, k0, k1, stream);
    for (int j = 0; j < 4; ++j) {
      int64_t e = e0 + j;
      if (e >= 0 && e < n) out[e] = u32ToUnitF32(r.v[j]);
    }
  });
}

void fillUniform(double* out, int64_t n, uint64_t offset, uint32_t k0, uint32_t k1, uint32_t stream, int threads) {
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

template void fillNormal<float>(float*, int64_t, uint64_t, uint32_t, uint32_t, uint32_t, int);
template void fillNormal<double>(double*, int64_t, uint64_t, uint32_t, uint32_t, uint32_t, int);

}  // namespace la
}  // namespace lr
