// Philox4x32-10 (Salmon et al., SC'11), the counter-based generator shared bit-for-bit with
// wgsl/philox.wgsl. The stream layout (which counter feeds which element) is documented in
// README.md ("Random numbers") and mirrored in ts/rng/philox.ts.
#pragma once

#include <cmath>
#include <cstdint>

namespace lr {

struct Philox4 {
  uint32_t v[4];
};

inline Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = static_cast<uint64_t>(M0) * c0;
    uint64_t p1 = static_cast<uint64_t>(M1) * c2;
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += W0;
    k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}

// f32 uniform in (0, 1): 23 random bits, centred in their cell; exact in binary32.
inline float u32ToUnitF32(uint32_t x) { return (static_cast<float>(x >> 9) + 0.5f) * 1.1920928955078125e-7f; }
// f64 uniform in (0, 1) from two words: 52 random bits, centred; exact in binary64.
inline double u32x2ToUnitF64(uint32_t a, uint32_t b) {
  return (static_cast<double>(a >> 6) * 67108864.0 + static_cast<double>(b >> 6) + 0.5) * 2.220446049250313e-16;
}

constexpr float kTwoPiF = 6.28318530717958647692f;
constexpr double kTwoPi = 6.28318530717958647692;

}  // namespace lr
