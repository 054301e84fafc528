// Fast Walsh-Hadamard transform (fwht_kernels.cc), plain C++; the binding is in fwht.cc.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// y (L x b, row-major) = H_L x for every column, unnormalised (Sylvester order: H_2L = [[H, H], [H, -H]],
// H H = L I); L a power of two. y and x may be the same array. Sums in T; the result does not depend on
// the thread count.
template <class T>
void fwht(T* y, const T* x, int64_t L, int64_t b, int threads);

}  // namespace la
}  // namespace lr
