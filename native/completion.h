// Segmented kernels for alternating least squares on a sparsity pattern (matrix completion): the pieces
// the four exports share (segment_gram.cc, cholesky_batch.cc, segment_cg.cc; per-ISA kernels and the
// export table in completion.cc). See completion.cc for the exports' contracts.
#pragma once

#include <string>

#include "common.h"

namespace lr {
namespace seg {

[[noreturn]] inline void changed(const char* fn) {
  throwRange(std::string(fn) + ": the index arrays changed while the call was running");
}

// Checks an index array of length nnz whose entries name positions in [0, nnz) (signedPos: v < 0 names
// -v - 1), on the JS thread.
void checkIndexRange(const Args& A, const IntArray& a, int64_t nnz, const char* name, bool signedPos);

// Segment j's range, re-checked against the live arrays.
inline bool segRange(const int32_t* ptr, int64_t j, int64_t nnz, int64_t& b, int64_t& e) {
  b = ptr[j];
  e = ptr[j + 1];
  return b >= 0 && b <= e && e <= nnz;
}

template <class T>
struct GramArgs {
  const int32_t* ptr;
  const int32_t* idx;
  const int32_t* order;  // null: exact Gram
  int64_t nnz, cols, k, sketchRows;
  bool diag;
  const T* F;
  T* out;
};

template <class T>
struct CgArgs {
  const int32_t* ptr;
  const int32_t* idx;
  const int32_t* perm;  // null: values in the order of idx
  int64_t nnz, cols, k, pw, steps;
  const T* vals;
  const T* F;
  const T* X0;
  const T* P;
  T* X;
  const T* ridge;  // null: no ridge
};

template <class T>
struct SegKernels {
  bool (*gram)(const GramArgs<T>&, int64_t, T*);
  bool (*cg)(const CgArgs<T>&, int64_t, T*);
  bool (*chol)(T*, int64_t, T, T);
};

// The kernels of the widest instruction set the CPU runs (completion.cc).
template <class T>
const SegKernels<T>& segKernels();

// The exports (one file each, the Cholesky pair together).
Napi::Value SegmentGram(const Napi::CallbackInfo& info);
Napi::Value CholeskyBatch(const Napi::CallbackInfo& info);
Napi::Value CholeskySolveBatch(const Napi::CallbackInfo& info);
Napi::Value SegmentCG(const Napi::CallbackInfo& info);

}  // namespace seg
}  // namespace lr
