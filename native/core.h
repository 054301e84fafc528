// Element-wise ops, transpose and norms (core_kernels.cc), plain C++; the bindings are in core.cc.
// Row-major arrays; threads split the work, results never depend on the thread count.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// o = alpha x + beta y (or alpha x when y is null), n elements; alpha and beta are rounded to T first.
template <class T>
void axpby(T* o, double alpha, const T* x, double beta, const T* y, int64_t n, int threads);

// o = x .* y, n elements.
template <class T>
void hadamard(T* o, const T* x, const T* y, int64_t n, int threads);

// o (n x m) = x^T, x m x n; o and x do not overlap.
template <class T>
void transpose(T* o, const T* x, int64_t m, int64_t n, int threads);

// o[i] = 1 (x > 0), -1 (x < 0), 0 (x = 0), NaN (x NaN), n elements.
template <class T>
void sign(T* o, const T* x, int64_t n, int threads);

// Frobenius norm (fro, scaled sum of squares in f64, fixed merge order) or max-abs of x (n elements);
// NaN propagates.
template <class T>
double norm(const T* x, int64_t n, bool fro, int threads);

// 2-norms of the columns (cols: out has n entries) or rows (out has m entries) of x (m x n), in f64.
template <class T>
void axisNorms(const T* x, int64_t m, int64_t n, bool cols, double* out, int threads);

}  // namespace la
}  // namespace lr
