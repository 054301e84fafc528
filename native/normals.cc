// Scalar Philox normals and the ISA dispatch of philoxNormals (see normals.h).
#include "normals.h"

#include <cmath>

#include "isa.h"
#include "philox.h"

namespace lr {

namespace {
inline Philox4 blockOf(uint64_t b, const PhiloxKey& k) {
  return philox4x32_10(static_cast<uint32_t>(b), static_cast<uint32_t>(b >> 32), k.stream, 0, k.k0, k.k1);
}
}  // namespace

void philoxNormalsScalar(float* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  uint64_t b = first / 4;
  int64_t e = -static_cast<int64_t>(first % 4);  // output index of the block's word 0
  for (; e < len; e += 4, ++b) {
    Philox4 r = blockOf(b, key);
    float z[4];
    for (int p = 0; p < 2; ++p) {
      float u0 = u32ToUnitF32(r.v[2 * p]), u1 = u32ToUnitF32(r.v[2 * p + 1]);
      float rad = std::sqrt(-2.0f * std::log(u0));
      float t = kTwoPiF * u1;
      z[2 * p] = rad * std::cos(t);
      z[2 * p + 1] = rad * std::sin(t);
    }
    for (int j = 0; j < 4; ++j)
      if (e + j >= 0 && e + j < len) out[e + j] = z[j];
  }
}

void philoxNormalsScalar(double* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  uint64_t b = first / 2;
  int64_t e = -static_cast<int64_t>(first % 2);
  for (; e < len; e += 2, ++b) {
    Philox4 r = blockOf(b, key);
    double u0 = u32x2ToUnitF64(r.v[0], r.v[1]), u1 = u32x2ToUnitF64(r.v[2], r.v[3]);
    double rad = std::sqrt(-2.0 * std::log(u0));
    double t = kTwoPi * u1;
    if (e >= 0) out[e] = rad * std::cos(t);
    if (e + 1 < len) out[e + 1] = rad * std::sin(t);
  }
}

template <class T>
static void dispatch(T* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  if (len <= 0) return;
#if LR_X86
  switch (kernelIsa()) {
    case Isa::Avx512:
      nk::normalsAvx512(out, len, first, key);
      return;
    case Isa::Avx2:
      nk::normalsAvx2(out, len, first, key);
      return;
    default:
      break;
  }
#endif
  philoxNormalsScalar(out, len, first, key);
}

void philoxNormals(float* out, int64_t len, uint64_t first, const PhiloxKey& key) { dispatch(out, len, first, key); }
void philoxNormals(double* out, int64_t len, uint64_t first, const PhiloxKey& key) { dispatch(out, len, first, key); }

}  // namespace lr
