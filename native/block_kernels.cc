// Block operations (block.h; the bindings are in block.cc):
//   copy2d: one memcpy range per thread when both blocks are contiguous, else one memcpy per row.
//   full: std::fill over ranges split across threads.
//   scaleAxis: row-wise product with the scale vector rounded to T once.
//   colAbsMax: row chunks, each with its own per-column best (at most 4 chunks per thread), merged in
//     chunk order so the first row wins ties whatever the thread count.
//   rowArgmin: ranges of rows per thread, one left-to-right scan per row (strict <: first wins ties).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "block.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// Search key: |x|, NaN below every number (-1), "no entry" below NaN (-2).
inline double absKey(double v) { return std::isnan(v) ? -1.0 : std::fabs(v); }

}  // namespace

template <class T>
void copy2d(const T* s, int64_t lds, T* d, int64_t ldd, int64_t rows, int64_t cols, int threads) {
  if (rows == 0 || cols == 0) return;
  if (lds == cols && ldd == cols) {
    // One contiguous range.
    int64_t total = rows * cols;
    parallelRanges(threads, total, 1 << 16, [&](int64_t b, int64_t e, int) {
      std::memcpy(d + b, s + b, sizeof(T) * static_cast<size_t>(e - b));
    });
    return;
  }
  int64_t minRows = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(cols, 1));
  parallelRanges(threads, rows, minRows, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r) std::memcpy(d + r * ldd, s + r * lds, sizeof(T) * static_cast<size_t>(cols));
  });
}

template <class T>
void full(T* o, double value, int64_t n, int threads) {
  const T v = static_cast<T>(value);
  parallelRanges(threads, n, 1 << 16, [&](int64_t b, int64_t e, int) { std::fill(o + b, o + e, v); });
}

template <class T>
void scaleAxis(T* o, const T* xp, int64_t m, int64_t n, const double* sp, bool cols, int threads) {
  std::vector<T> sc;
  if (cols) {
    sc.resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j) sc[j] = static_cast<T>(sp[j]);
  }
  int64_t minRows = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(n, 1));
  parallelRanges(threads, m, minRows, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const T* xi = xp + i * n;
      T* oi = o + i * n;
      if (cols) {
        const T* f = sc.data();
        for (int64_t j = 0; j < n; ++j) oi[j] = xi[j] * f[j];
      } else {
        const T f = static_cast<T>(sp[i]);
        for (int64_t j = 0; j < n; ++j) oi[j] = xi[j] * f;
      }
    }
  });
}

template <class T>
void colAbsMax(const T* xp, int64_t m, int64_t n, int32_t* oi, double* ov, int threads) {
  // Row chunks, each with its own per-column best; merged in chunk order (first row wins ties).
  constexpr int64_t kChunkElems = 1 << 16;
  int64_t chunkRows = std::max<int64_t>(64, kChunkElems / std::max<int64_t>(n, 1));
  int64_t nchunks = std::max<int64_t>(1, (m + chunkRows - 1) / chunkRows);
  if (nchunks > 4 * static_cast<int64_t>(threads)) {
    // Bounded scratch: at most 4 chunks per thread.
    nchunks = 4 * static_cast<int64_t>(threads);
    chunkRows = (m + nchunks - 1) / nchunks;
    nchunks = std::max<int64_t>(1, (m + chunkRows - 1) / chunkRows);
  }
  std::vector<double> key(static_cast<size_t>(nchunks * n), -2.0);
  std::vector<int64_t> arg(static_cast<size_t>(nchunks * n), -1);
  parallelFor(threads, nchunks, [&](int64_t c, int) {
    int64_t r0 = c * chunkRows, r1 = std::min(m, r0 + chunkRows);
    double* k = key.data() + c * n;
    int64_t* ix = arg.data() + c * n;
    for (int64_t i = r0; i < r1; ++i) {
      const T* row = xp + i * n;
      for (int64_t j = 0; j < n; ++j) {
        double v = absKey(static_cast<double>(row[j]));
        if (v > k[j]) {
          k[j] = v;
          ix[j] = i;
        }
      }
    }
  });
  for (int64_t j = 0; j < n; ++j) {
    double bk = -2.0;
    int64_t bi = -1;
    for (int64_t c = 0; c < nchunks; ++c) {
      if (key[c * n + j] > bk) {
        bk = key[c * n + j];
        bi = arg[c * n + j];
      }
    }
    oi[j] = static_cast<int32_t>(bi);
    ov[j] = bi >= 0 ? static_cast<double>(xp[bi * n + j]) : std::numeric_limits<double>::quiet_NaN();
  }
}

template <class T>
void rowArgmin(const T* xp, int64_t m, int64_t n, int32_t* oi, double* ov, int threads) {
  int64_t minRows = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(n, 1));
  parallelRanges(threads, m, minRows, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const T* row = xp + i * n;
      int64_t bi = -1;
      T bv = T(0);
      for (int64_t j = 0; j < n; ++j) {
        T v = row[j];
        if (std::isnan(v)) {
          bi = j;
          bv = v;
          break;
        }
        if (bi < 0 || v < bv) {
          bi = j;
          bv = v;
        }
      }
      oi[i] = static_cast<int32_t>(bi);
      ov[i] = bi >= 0 ? static_cast<double>(bv) : std::numeric_limits<double>::quiet_NaN();
    }
  });
}

#define LR_BLOCK_INSTANTIATE(T)                                                         \
  template void copy2d<T>(const T*, int64_t, T*, int64_t, int64_t, int64_t, int);       \
  template void full<T>(T*, double, int64_t, int);                                      \
  template void scaleAxis<T>(T*, const T*, int64_t, int64_t, const double*, bool, int); \
  template void colAbsMax<T>(const T*, int64_t, int64_t, int32_t*, double*, int);       \
  template void rowArgmin<T>(const T*, int64_t, int64_t, int32_t*, double*, int);
LR_BLOCK_INSTANTIATE(float)
LR_BLOCK_INSTANTIATE(double)
#undef LR_BLOCK_INSTANTIATE

}  // namespace la
}  // namespace lr
