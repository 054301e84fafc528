// Matrix-free Gaussian measurement products (gaussian_apply_kernels.cc), plain C++; the bindings are in
// gaussian_apply.cc. A (m x n) is never stored: A[i, e] is element offset + i n + e of the Philox normal
// stream of `key` (the transform of randn). Accumulated in double in a fixed order: results do not depend
// on the thread count.
#pragma once

#include <cstdint>

#include "normals.h"

namespace lr {
namespace la {

// y[i] = sum_e A[i, e] x[e]  (x: n, y: m).
template <class T>
void gaussianApply(const T* x, int64_t m, int64_t n, const PhiloxKey& key, uint64_t offset, T* y, int threads);

// z[e] = sum_i A[i, e] r[i]  (r: m, z: n).
template <class T>
void gaussianAdjoint(const T* r, int64_t m, int64_t n, const PhiloxKey& key, uint64_t offset, T* z, int threads);

}  // namespace la
}  // namespace lr
