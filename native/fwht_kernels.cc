// Fast Walsh-Hadamard transform (fwht.h; the binding is in fwht.cc).
//
// The log2 L radix-2 stages (half-width h) commute, H_L being a Kronecker power of H_2, so they run in a
// cache-friendly order: first every stage with h < T inside blocks of T consecutive rows (T b entries fit
// in L1), threads over blocks; then the stages h = T, 2T, ..., L/2 one at a time over the whole array,
// threads over ranges of butterflies. Rows i .. i + h - 1 and their partners are two contiguous spans of
// h b entries, so the in-place butterfly loop vectorises for any b. Every output is the same sequence of additions whatever the thread count.
#include <algorithm>
#include <cstring>

#include "fwht.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Butterfly of the spans [p, p + n) and [q, q + n): rows i .. i + h - 1 and i + h .. i + 2h - 1 of a
// row-major matrix are two contiguous spans of h b entries, so the loop vectorises for any b.
template <class T>
inline void span(T* __restrict p, T* __restrict q, int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    T u = p[k], v = q[k];
    p[k] = u + v;
    q[k] = u - v;
  }
}

}  // namespace

template <class T>
void fwht(T* y, const T* x, int64_t L, int64_t b, int threads) {
  if (y != x) std::memcpy(y, x, sizeof(T) * static_cast<size_t>(L * b));
  if (L < 2) return;
  // Block rows: a power of two with T b <= 4096 entries (at least 1, at most L).
  int64_t T_ = 1;
  while (T_ < L && 2 * T_ * b <= 4096) T_ *= 2;
  if (T_ > 1) {
    parallelFor(threads, L / T_, [&](int64_t blk, int) {
      T* base = y + blk * T_ * b;
      for (int64_t h = 1; h < T_; h *= 2)
        for (int64_t i0 = 0; i0 < T_; i0 += 2 * h) span(base + i0 * b, base + (i0 + h) * b, h * b);
    });
  }
  const int64_t half = (L / 2) * b;  // entries updated in pairs per stage
  for (int64_t h = T_; h < L; h *= 2) {
    // Pair entry e (0 <= e < half) lies in block e / (h b) at offset e % (h b) of its upper half.
    const int64_t hb = h * b;
    parallelRanges(threads, half, 8192, [&](int64_t s, int64_t e, int) {
      for (int64_t k = s; k < e;) {
        int64_t blk = k / hb, off = k % hb;
        int64_t n = std::min(e - k, hb - off);
        T* p = y + blk * 2 * hb + off;
        span(p, p + hb, n);
        k += n;
      }
    });
  }
}

template void fwht<float>(float*, const float*, int64_t, int64_t, int);
template void fwht<double>(double*, const double*, int64_t, int64_t, int);

}  // namespace la
}  // namespace lr
