// Block operations on dense row-major matrices (block_kernels.cc), plain C++; the bindings are in
// block.cc. Threads split the work; results never depend on the thread count.
//
// Pivot order used here and by LU (lu.cc, wgsl/block.wgsl, wgsl/lu.wgsl): an entry beats another when
// its magnitude is larger, or equal with a smaller row index; NaN loses to every number (and beats
// nothing), so a search always returns a row and an all-NaN column returns its first row.
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// d[r * ldd + c] = s[r * lds + c] for r < rows, c < cols; the blocks do not overlap and the rows of d
// do not overlap each other (ldd >= cols when rows > 1).
template <class T>
void copy2d(const T* s, int64_t lds, T* d, int64_t ldd, int64_t rows, int64_t cols, int threads);

// o[i] = value rounded to T, n elements.
template <class T>
void full(T* o, double value, int64_t n, int threads);

// o = x diag(s) (cols: s has n entries) or diag(s) x (s has m entries), x and o m x n; s is rounded to T
// before the product.
template <class T>
void scaleAxis(T* o, const T* x, int64_t m, int64_t n, const double* s, bool cols, int threads);

// Per column of x (m x n) the row of the largest-|.| entry in the pivot order above (index) and that
// entry (value); m = 0 gives -1 and NaN.
template <class T>
void colAbsMax(const T* x, int64_t m, int64_t n, int32_t* index, double* value, int threads);

// Per row of x (m x n) the column of the smallest entry (the first on ties; -0 equals +0; -Inf and +Inf
// are ordinary values) and that entry. A NaN beats every number: a row holding one reports its first
// NaN (the engine turns that into an error). n = 0 gives -1 and NaN.
template <class T>
void rowArgmin(const T* x, int64_t m, int64_t n, int32_t* index, double* value, int threads);

}  // namespace la
}  // namespace lr
