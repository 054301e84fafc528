// Fused Adam moment update (adam_step.h; the binding is in adam_step.cc): one pass over contiguous
// ranges split across threads, each element in double.
#include <cmath>

#include "adam_step.h"
#include "threadpool.h"

namespace lr {
namespace la {

template <class T>
void adamStep(T* mo, T* vo, T* no, const T* m, const T* v, const T* g, int64_t n, double b1, double b2, double eps,
              double corr, int threads) {
  parallelRanges(threads, n, 1 << 15, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      double gi = static_cast<double>(g[i]);
      double mi = b1 * static_cast<double>(m[i]) + (1.0 - b1) * gi;
      double vi = b2 * static_cast<double>(v[i]) + (1.0 - b2) * gi * gi;
      mo[i] = static_cast<T>(mi);
      vo[i] = static_cast<T>(vi);
      no[i] = static_cast<T>(corr * mi / (std::sqrt(vi) + eps));
    }
  });
}

template void adamStep<float>(float*, float*, float*, const float*, const float*, const float*, int64_t, double, double,
                              double, double, int);
template void adamStep<double>(double*, double*, double*, const double*, const double*, const double*, int64_t, double,
                               double, double, double, int);

}  // namespace la
}  // namespace lr
