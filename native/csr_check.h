// The checks of a CSR structure, plain C++ (no N-API): csr.cc's checkCsr raises what they find as a
// RangeError naming the argument; native/test/ calls them directly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace lr {
namespace la {

// ptr (rows + 1 entries, length already checked) must start at 0 and be non-decreasing. Returns "" or
// the problem, worded to follow the argument's name (": ptr[0] must be 0, got 3").
inline std::string csrPtrProblem(const int32_t* p, int64_t rows) {
  if (p[0] != 0) return ": ptr[0] must be 0, got " + std::to_string(p[0]);
  for (int64_t r = 0; r < rows; ++r)
    if (p[r + 1] < p[r])
      return " must be non-decreasing: ptr[" + std::to_string(r + 1) + "] = " + std::to_string(p[r + 1]) + " < ptr[" +
             std::to_string(r) + "] = " + std::to_string(p[r]);
  return std::string();
}

// Every idx entry (nnz of them, length already checked) must lie in [0, cols). Returns "" or the first
// offending position, worded to follow the argument's name.
inline std::string csrIdxProblem(const int32_t* ix, int64_t nnz, int64_t cols) {
  // Branch-free scan first (vectorizes); the slow path only finds the offending position.
  uint32_t worst = 0;
  for (int64_t q = 0; q < nnz; ++q) worst = std::max(worst, static_cast<uint32_t>(ix[q]));
  if (nnz > 0 && static_cast<int64_t>(worst) >= cols) {
    for (int64_t q = 0; q < nnz; ++q)
      if (ix[q] < 0 || ix[q] >= cols)
        return ": idx[" + std::to_string(q) + "] = " + std::to_string(ix[q]) + " is out of range [0, " +
               std::to_string(cols) + ")";
  }
  return std::string();
}

}  // namespace la
}  // namespace lr
