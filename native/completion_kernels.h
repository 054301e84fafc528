// Segmented kernels for alternating least squares on a sparsity pattern (matrix completion), plain C++
// (completion_kernels.cc; per-segment bodies in completion_body.h); the bindings are in segment_gram.cc,
// cholesky_batch.cc and segment_cg.cc, the contracts in completion.cc. Every segment is independent:
// parallel over segments, fixed summation order inside a segment, so results never depend on the thread
// count.
#pragma once

#include <cstdint>
#include <string>

#include "la_common.h"

namespace lr {
namespace la {

[[noreturn]] inline void segChanged(const char* fn) {
  throwRange(std::string(fn) + ": the index arrays changed while the call was running");
}

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

// Gram matrices (or diagonals) of segs segments into a.out; throws a range error when an index is out of
// range (the arrays changed during the call).
template <class T>
void segmentGram(const GramArgs<T>& a, int64_t segs, int threads);

// `steps` preconditioned CG steps per segment into a.X; throws as segmentGram.
template <class T>
void segmentCG(const CgArgs<T>& a, int64_t segs, int threads);

// Lower Cholesky factors (or their inverses) of segs k x k matrices G into L, with status (0, 1, 2) per
// segment; ridge: segs f64 values or null.
template <class T>
void choleskyBatch(const T* G, T* L, T* status, const double* ridge, int64_t segs, int64_t k, double fallback,
                   bool inverse, int threads);

// X_j = (L_j L_j^T)^{-1} H_j per segment; X_j = 0 where L_j[0, 0] == 0.
template <class T>
void choleskySolveBatch(const T* L, const T* H, T* X, int64_t segs, int64_t k, int threads);

}  // namespace la
}  // namespace lr
