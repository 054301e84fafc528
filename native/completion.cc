// Segmented kernels for alternating least squares on a sparsity pattern (matrix completion). This file:
// the contracts, the shared index check and the export table; the bindings are in segment_gram.cc,
// cholesky_batch.cc and segment_cg.cc, the plain C++ kernels (per-ISA table, completion_body.h) in
// completion_kernels.cc.
//
// A "segment" is one row of S (CSR: ptr = rowPtr, idx = colIdx) or one column (CSC: ptr = colPtr,
// idx = rowIdx, values through perm). For segment j with entries t in [ptr[j], ptr[j + 1]) the design
// matrix is A_j = F[idx[t], :] (F is cols x k) and the right-hand side b_j = vals(t).
//
//   segmentGram(ptr, idx, segs, cols, F, k, order | null, sketchRows, out, threads)
//     out of length segs*k*k: out (segs x k*k, full symmetric) = A_j^T A_j, or (order given) (S_j A_j)^T (S_j A_j)
//     for a CountSketch S_j with s_j = min(len_j, sketchRows) balanced buckets: order[ptr[j] + t] encodes
//     the t-th entry of a random permutation of the segment as its position (sign +1) or as
//     -(position + 1) (sign -1), and bucket b sums
//     the permuted entries b, b + s_j, b + 2 s_j, ... with their signs.
//     out of length segs*k (order must be null): out (segs x k) = diag(A_j^T A_j) (for k = 1 the two
//     coincide).
//   choleskyBatch(G, segs, k, ridge | null, fallback, inverse, L, status, threads)
//     Lower Cholesky factor of G_j + lambda_j I with lambda_j = ridge[j] trace(G_j) / k (ridge: a
//     Float64Array of length segs, or null for 0; negative entries count as 0). When the factorization breaks down (a pivot below
//     k u trace, or non-finite) it is retried with lambda = max(lambda_j, fallback trace / k) when
//     fallback > 0: status 1.
//     When that fails too (or trace is 0 / non-finite) L_j = 0: status 2. Otherwise status 0.
//     inverse: L_j is replaced by L_j^{-1} (lower), the form segmentCG applies as a preconditioner.
//   choleskySolveBatch(L, segs, k, H, X, threads)
//     X_j = (L_j L_j^T)^{-1} h_j (forward + back substitution); X_j = 0 where L_j[0, 0] == 0.
//   segmentCG(ptr, idx, vals, perm | null, segs, cols, F, k, X0, P, pw, steps, X, ridge | null, threads)
//     `steps` steps of preconditioned CG on (A_j^T A_j + lambda_j I) x = A_j^T b_j from x = X0_j, per
//     segment; lambda_j = ridge[j] trace(A_j^T A_j) / k (ridge: segs values of X's dtype; <= 0 or null:
//     no ridge; a diagonal preconditioner is shifted by lambda_j too).
//     P (segs x pw): pw == k*k: W_j = L_j^{-1} (lower), preconditioner M^{-1} = W_j^T W_j; pw == k: a
//     diagonal d_j, M^{-1} = diag(1 / d_j) (0 where d_j <= 0). A step that would divide by a
//     non-positive curvature or residual stops that segment's iteration.
//
// Every segment is independent: parallel over segments (dynamic), fixed summation order inside a
// segment, so results do not depend on the thread count. Validation on the JS thread as in sparse.cc;
// the kernels re-check every loaded index.
#include <string>

#include "completion.h"

namespace lr {
namespace seg {

void checkIndexRange(const Args& A, const IntArray& a, int64_t nnz, const char* name, bool signedPos) {
  A.needLength(a, static_cast<uint64_t>(nnz), name);
  for (int64_t q = 0; q < nnz; ++q) {
    const int64_t v = a.data[q];
    const int64_t pos = signedPos && v < 0 ? -v - 1 : v;
    if (pos < 0 || pos >= nnz)
      jsRangeError(A.env(), A.where(name) + ": entry " + std::to_string(q) + " = " + std::to_string(v) +
                                " does not name a position in [0, " + std::to_string(nnz) + ")");
  }
}

}  // namespace seg

void RegisterCompletion(Napi::Env env, Napi::Object exports) {
  exports.Set("segmentGram", Napi::Function::New(env, seg::SegmentGram, "segmentGram"));
  exports.Set("choleskyBatch", Napi::Function::New(env, seg::CholeskyBatch, "choleskyBatch"));
  exports.Set("choleskySolveBatch", Napi::Function::New(env, seg::CholeskySolveBatch, "choleskySolveBatch"));
  exports.Set("segmentCG", Napi::Function::New(env, seg::SegmentCG, "segmentCG"));
}

}  // namespace lr
