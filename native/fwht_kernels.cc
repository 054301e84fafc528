// Fast Walsh-Hadamard transform (fwht.h; the binding is in fwht.cc).
//
// The log2 L radix-2 stages (half-width h) commute, H_L being a Kronecker power of H_2, so they run in a
// cache-friendly order: first every stage with h < T inside blocks of T consecutive rows (T b entries fit
// in L1), threads over blocks; then the stages h = T, 2T, ..., L/2 one at a time over the whole array,
// threads over butterfly ranges. Butterflies are in place on whole rows (b contiguous entries), so the
// inner loop vectorises. Every output is the same sequence of additions whatever the thread count.
#include <algorithm>
#include <cstring>

#include "fwht.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Butterfly of rows i and i + h (b entries each).
template <class T>
inline void butterfly(T* y, int64_t i, int64_t h, int64_t b) {
  T* p = y + i * b;
  T* q = y + (i + h) * b;
  for (int64_t j = 0; j < b; ++j) {
    T u = p[j], v = q[j];
    p[j] = u + v;
    q[j] = u - v;
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
        for (int64_t i0 = 0; i0 < T_; i0 += 2 * h)
          for (int64_t i = i0; i < i0 + h; ++i) butterfly(base, i, h, b);
    });
  }
  for (int64_t h = T_; h < L; h *= 2) {
    // Butterfly q (0 <= q < L/2) pairs rows i = (q / h) 2h + q % h and i + h.
    int64_t minChunk = std::max<int64_t>(1, 8192 / b);
    parallelRanges(threads, L / 2, minChunk, [&](int64_t s, int64_t e, int) {
      for (int64_t q = s; q < e; ++q) butterfly(y, (q / h) * 2 * h + (q % h), h, b);
    });
  }
}

template void fwht<float>(float*, const float*, int64_t, int64_t, int);
template void fwht<double>(double*, const double*, int64_t, int64_t, int);

}  // namespace la
}  // namespace lr
