// The one validator of a CSR-like structure at the addon boundary (JS thread): spmm / sddmm (sparse.cc)
// and the segmented kernels segmentGram / segmentCG (completion.cc), whose segments are CSR rows or
// CSC columns.
#include <algorithm>

#include "csr.h"

namespace lr {

// Checks a CSR structure (ptr of length rows + 1 starting at 0, non-decreasing; idx of length nnz with
// entries in [0, cols)); returns nnz = ptr[rows].
int64_t checkCsr(const Args& A, const IntArray& ptr, const IntArray& idx, int64_t rows, int64_t cols) {
  A.needLength(ptr, static_cast<uint64_t>(rows) + 1, "ptr");
  const int32_t* p = ptr.data;
  if (p[0] != 0) jsRangeError(A.env(), A.where("ptr") + ": ptr[0] must be 0, got " + std::to_string(p[0]));
  for (int64_t r = 0; r < rows; ++r)
    if (p[r + 1] < p[r])
      jsRangeError(A.env(), A.where("ptr") + " must be non-decreasing: ptr[" + std::to_string(r + 1) +
                                "] = " + std::to_string(p[r + 1]) + " < ptr[" + std::to_string(r) +
                                "] = " + std::to_string(p[r]));
  const int64_t nnz = p[rows];
  A.needLength(idx, static_cast<uint64_t>(nnz), "idx");
  const int32_t* ix = idx.data;
  // Branch-free scan first (vectorizes); the slow path only finds the offending position.
  uint32_t worst = 0;
  for (int64_t q = 0; q < nnz; ++q) worst = std::max(worst, static_cast<uint32_t>(ix[q]));
  if (nnz > 0 && static_cast<int64_t>(worst) >= cols) {
    for (int64_t q = 0; q < nnz; ++q)
      if (ix[q] < 0 || ix[q] >= cols)
        jsRangeError(A.env(), A.where("idx") + ": idx[" + std::to_string(q) + "] = " + std::to_string(ix[q]) +
                                  " is out of range [0, " + std::to_string(cols) + ")");
  }
  return nnz;
}

}  // namespace lr
