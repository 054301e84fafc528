// Segmented kernels for matrix completion (completion_kernels.h), plain C++: the per-ISA kernel table
// (completion_body.h compiled for the baseline, AVX2 and AVX-512) and the drivers over the segments. The
// bindings (segment_gram.cc, cholesky_batch.cc, segment_cg.cc) validate on the JS thread; the kernels
// re-check every loaded index.
#include "completion_kernels.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "isa.h"
#include "threadpool.h"

namespace lr {
namespace la {
namespace {

// ---- per-ISA kernels (completion_body.h) -------------------------------------------------------------

namespace k_base {
#include "completion_body.h"
}
#if LR_X86
LR_TARGET_AVX2_BEGIN
namespace k_avx2 {
#include "completion_body.h"
}
LR_TARGET_END
LR_TARGET_AVX512_BEGIN
namespace k_avx512 {
#include "completion_body.h"
}
LR_TARGET_END
#endif

template <class T>
struct SegKernels {
  bool (*gram)(const GramArgs<T>&, int64_t, T*);
  bool (*cg)(const CgArgs<T>&, int64_t, T*);
  bool (*chol)(T*, int64_t, T, T);
};

// The kernels of the widest instruction set the CPU runs.
template <class T>
const SegKernels<T>& segKernels() {
  static const SegKernels<T> s = [] {
#if LR_X86
    switch (kernelIsa()) {
      case Isa::Avx512:
        return SegKernels<T>{&k_avx512::gramSegment<T>, &k_avx512::cgSegment<T>, &k_avx512::cholSegment<T>};
      case Isa::Avx2:
        return SegKernels<T>{&k_avx2::gramSegment<T>, &k_avx2::cgSegment<T>, &k_avx2::cholSegment<T>};
      default:
        break;
    }
#endif
    return SegKernels<T>{&k_base::gramSegment<T>, &k_base::cgSegment<T>, &k_base::cholSegment<T>};
  }();
  return s;
}

}  // namespace

// ---- segmentGram -------------------------------------------------------------------------------------

template <class T>
void segmentGram(const GramArgs<T>& a, int64_t segs, int threads) {
  auto* kern = segKernels<T>().gram;
  std::vector<std::vector<T>> scratch(static_cast<size_t>(std::max(threads, 1)),
                                      std::vector<T>(static_cast<size_t>(a.k) + 1));
  std::atomic<bool> ok{true};
  parallelFor(threads, segs, [&](int64_t j, int tid) {
    if (!kern(a, j, scratch[static_cast<size_t>(tid)].data())) ok.store(false);
  });
  if (!ok.load()) segChanged("segmentGram");
}

// ---- segmentCG -----------------------------------------------------------------------------------------

template <class T>
void segmentCG(const CgArgs<T>& a, int64_t segs, int threads) {
  auto* kern = segKernels<T>().cg;
  std::vector<std::vector<T>> scratch(static_cast<size_t>(std::max(threads, 1)),
                                      std::vector<T>(static_cast<size_t>(5 * a.k) + 1));
  std::atomic<bool> ok{true};
  parallelFor(threads, segs, [&](int64_t j, int tid) {
    if (!kern(a, j, scratch[static_cast<size_t>(tid)].data())) ok.store(false);
  });
  if (!ok.load()) segChanged("segmentCG");
}

// ---- choleskyBatch ------------------------------------------------------------------------------------

template <class T>
void choleskyBatch(const T* G, T* L, T* status, const double* ridge, int64_t segs, int64_t k, double fallback,
                   bool inverse, int threads) {
  const T* Gp = G;
  T* Lp = L;
  T* St = status;
  const double* rp = ridge;
  const int64_t kk = k;
  const T u = std::numeric_limits<T>::epsilon() / 2;
  parallelFor(threads, segs, [&](int64_t j, int) {
    const T* g = Gp + j * kk * kk;
    T* l = Lp + j * kk * kk;
    T tr = 0;
    for (int64_t a = 0; a < kk; ++a) tr += g[a * kk + a];
    auto load = [&] {
      for (int64_t a = 0; a < kk; ++a)
        for (int64_t c = 0; c < kk; ++c) l[a * kk + c] = c <= a ? g[a * kk + c] : T(0);
    };
    const T tiny = static_cast<T>(kk) * u * tr;
    T st = 0;
    bool good = std::isfinite(tr) && tr > 0;
    if (good) {
      const T lam =
          static_cast<T>((rp ? std::max(rp[j], 0.0) : 0.0) * static_cast<double>(tr) / static_cast<double>(kk));
      load();
      good = segKernels<T>().chol(l, kk, lam, tiny);
      if (!good && fallback > 0) {
        const T lam2 = std::max(lam, static_cast<T>(fallback * static_cast<double>(tr) / static_cast<double>(kk)));
        load();
        good = segKernels<T>().chol(l, kk, lam2, tiny);
        st = 1;
      }
    }
    if (!good) {
      std::fill(l, l + kk * kk, T(0));
      St[j] = 2;
      return;
    }
    St[j] = st;
    if (inverse) {
      // Column c of L^{-1} (solve L w = e_c; rows < c are 0) reads only the lower triangle of L,
      // so the columns are computed right to left and parked transposed in the strict upper
      // triangle; the diagonal 1 / L[c, c] and the move to the lower triangle come last.
      std::vector<T> w(static_cast<size_t>(kk));
      for (int64_t c = kk - 1; c >= 0; --c) {
        for (int64_t i = c; i < kk; ++i) {
          T s = i == c ? T(1) : T(0);
          for (int64_t t = c; t < i; ++t) s -= l[i * kk + t] * w[t];
          w[i] = s / l[i * kk + i];
        }
        for (int64_t i = c + 1; i < kk; ++i) l[c * kk + i] = w[i];
      }
      for (int64_t c = 0; c < kk; ++c) {
        l[c * kk + c] = T(1) / l[c * kk + c];
        for (int64_t i = c + 1; i < kk; ++i) {
          l[i * kk + c] = l[c * kk + i];
          l[c * kk + i] = 0;
        }
      }
    }
  });
}

// ---- choleskySolveBatch -------------------------------------------------------------------------------

template <class T>
void choleskySolveBatch(const T* L, const T* H, T* X, int64_t segs, int64_t k, int threads) {
  if (k == 0) return;
  const int64_t kk = k;
  const T* Lp = L;
  const T* Hp = H;
  T* Xp = X;
  parallelFor(threads, segs, [&](int64_t j, int) {
    const T* l = Lp + j * kk * kk;
    const T* h = Hp + j * kk;
    T* x = Xp + j * kk;
    if (l[0] == T(0)) {
      std::fill(x, x + kk, T(0));
      return;
    }
    for (int64_t i = 0; i < kk; ++i) {
      T s = h[i];
      for (int64_t t = 0; t < i; ++t) s -= l[i * kk + t] * x[t];
      x[i] = s / l[i * kk + i];
    }
    for (int64_t i = kk - 1; i >= 0; --i) {
      T s = x[i];
      for (int64_t t = i + 1; t < kk; ++t) s -= l[t * kk + i] * x[t];
      x[i] = s / l[i * kk + i];
    }
  });
}

#define LR_INSTANTIATE(T)                                                                               \
  template void segmentGram<T>(const GramArgs<T>&, int64_t, int);                                       \
  template void segmentCG<T>(const CgArgs<T>&, int64_t, int);                                           \
  template void choleskyBatch<T>(const T*, T*, T*, const double*, int64_t, int64_t, double, bool, int); \
  template void choleskySolveBatch<T>(const T*, const T*, T*, int64_t, int64_t, int);
LR_INSTANTIATE(float)
LR_INSTANTIATE(double)
#undef LR_INSTANTIATE

}  // namespace la
}  // namespace lr
