// The one validator of a CSR-like structure at the addon boundary (JS thread): spmm / sddmm (sparse.cc)
// and the segmented kernels segmentGram / segmentCG (completion.cc), whose segments are CSR rows or
// CSC columns. The checks themselves are plain C++ (csr_check.h).
#include "csr.h"
#include "csr_check.h"

namespace lr {

// Checks a CSR structure (ptr of length rows + 1 starting at 0, non-decreasing; idx of length nnz with
// entries in [0, cols)); returns nnz = ptr[rows].
int64_t checkCsr(const Args& A, const IntArray& ptr, const IntArray& idx, int64_t rows, int64_t cols) {
  A.needLength(ptr, static_cast<uint64_t>(rows) + 1, "ptr");
  const int32_t* p = ptr.data;
  const std::string ptrProblem = la::csrPtrProblem(p, rows);
  if (!ptrProblem.empty()) jsRangeError(A.env(), A.where("ptr") + ptrProblem);
  const int64_t nnz = p[rows];
  A.needLength(idx, static_cast<uint64_t>(nnz), "idx");
  const std::string idxProblem = la::csrIdxProblem(idx.data, nnz, cols);
  if (!idxProblem.empty()) jsRangeError(A.env(), A.where("idx") + idxProblem);
  return nnz;
}

}  // namespace lr
