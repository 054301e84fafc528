// Sparse algorithms (sparse_kernels.cc), plain C++ on raw CSR arrays. The structure must have been
// validated (csr.h: ptr non-decreasing from 0, idx in [0, cols), perm in [0, nnz)); every index loaded is
// checked again, and a false return means one was out of range (the arrays changed during the call).
#pragma once

#include <cstdint>

namespace lr {
namespace la {

// C (rows x p) = S B, S rows x cols in CSR (ptr, idx, nnz entries); entry q has the value vals[perm[q]]
// (perm non-null) or vals[q]. B is cols x p.
template <class T>
bool spmm(const int32_t* ptr, const int32_t* idx, const T* vals, const int32_t* perm, int64_t rows, int64_t cols,
          int64_t nnz, const T* B, int64_t p, T* C, int threads);

// out[q] = dot(U[row(q), :], V[idx[q], :]) for every CSR entry q (U rows x k, V cols x k).
template <class T>
bool sddmm(const int32_t* ptr, const int32_t* idx, int64_t rows, int64_t cols, int64_t nnz, const T* U, const T* V,
           int64_t k, T* out, int threads);

}  // namespace la
}  // namespace lr
