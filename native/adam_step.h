// Fused Adam moment update (adam_step_kernels.cc), plain C++; the binding is in adam_step.cc.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// For i < n: mo = b1 m + (1 - b1) g, vo = b2 v + (1 - b2) g^2, no = corr mo / (sqrt(vo) + eps), in
// double and rounded to T once per output. The outputs do not alias the inputs.
template <class T>
void adamStep(T* mo, T* vo, T* no, const T* m, const T* v, const T* g, int64_t n, double b1, double b2, double eps,
              double corr, int threads);

}  // namespace la
}  // namespace lr
