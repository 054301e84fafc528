// Validation of CSR structures at the addon boundary (JS thread only; csr.cc).
#pragma once

#include "common.h"

namespace lr {

// Checks a CSR structure (ptr of length rows + 1 starting at 0, non-decreasing; idx of length nnz with
// entries in [0, cols)) and throws a RangeError naming the argument and position; returns nnz = ptr[rows].
int64_t checkCsr(const Args& A, const IntArray& ptr, const IntArray& idx, int64_t rows, int64_t cols);

}  // namespace lr
