// Segmented kernels for alternating least squares on a sparsity pattern (matrix completion): the binding
// pieces the four exports share (segment_gram.cc, cholesky_batch.cc, segment_cg.cc; the export table in
// completion.cc, the plain C++ kernels in completion_kernels.h / .cc). See completion.cc for the exports'
// contracts.
#pragma once

#include <string>

#include "common.h"

namespace lr {
namespace seg {

// Checks an index array of length nnz whose entries name positions in [0, nnz) (signedPos: v < 0 names
// -v - 1), on the JS thread.
void checkIndexRange(const Args& A, const IntArray& a, int64_t nnz, const char* name, bool signedPos);

// The exports (one file each, the Cholesky pair together).
Napi::Value SegmentGram(const Napi::CallbackInfo& info);
Napi::Value CholeskyBatch(const Napi::CallbackInfo& info);
Napi::Value CholeskySolveBatch(const Napi::CallbackInfo& info);
Napi::Value SegmentCG(const Napi::CallbackInfo& info);

}  // namespace seg
}  // namespace lr
