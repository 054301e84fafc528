// The small-k update of the LU (lu.cc), written once over a vector type V and compiled once per ISA.
//
// NO include guard and NO #include on purpose (as gemm_body.h): lu.cc includes this file inside each ISA's
// namespace and target region (avx2, avx512), after defining V (T, R, W, set1, loadu, storeu, sub, fmadd)
// and LR_LU_INLINE. Every entry is one FMA chain over q in order, subtracted from C once, in the vector
// lanes and in the scalar row tail alike, so the vector width never changes a result.

// Small-k update: tiles of 2 vectors of rows x NC columns (2 NC accumulators); A's k columns of a row
// tile stay in L1 across the column tiles, B (k x c) throughout, so nothing is packed.
template <class V, int NC>
LR_LU_INLINE void tile(int64_t k, const typename V::T* A, const typename V::T* B, typename V::T* C, int64_t ld) {
  using R = typename V::R;
  R acc0[NC], acc1[NC];
  for (int j = 0; j < NC; ++j) acc0[j] = acc1[j] = V::set1(0);
  for (int64_t q = 0; q < k; ++q) {
    const R a0 = V::loadu(A + q * ld), a1 = V::loadu(A + q * ld + V::W);
    for (int j = 0; j < NC; ++j) {
      const R b = V::set1(B[q + j * ld]);
      acc0[j] = V::fmadd(a0, b, acc0[j]);
      acc1[j] = V::fmadd(a1, b, acc1[j]);
    }
  }
  for (int j = 0; j < NC; ++j) {
    V::storeu(C + j * ld, V::sub(V::loadu(C + j * ld), acc0[j]));
    V::storeu(C + j * ld + V::W, V::sub(V::loadu(C + j * ld + V::W), acc1[j]));
  }
}

template <class V>
void update(int64_t r, int64_t c, int64_t k, const typename V::T* A, const typename V::T* B, typename V::T* C,
            int64_t ld) {
  using T = typename V::T;
  constexpr int MR = 2 * V::W;
  int64_t i = 0;
  // Column tiles of near-equal widths <= 6 (8 columns as 4 + 4, not 6 + 2: a narrow tile has too few
  // independent FMA chains to hide their latency).
  const int64_t nt = (c + 5) / 6, wb = nt > 0 ? c / nt : 0, wx = nt > 0 ? c % nt : 0;
  for (; i + MR <= r; i += MR) {
    int64_t j = 0;
    for (int64_t t = 0; t < nt; ++t) {
      const int64_t wd = wb + (t < wx ? 1 : 0);
      const T* bj = B + j * ld;
      T* cij = C + i + j * ld;
      switch (wd) {
        case 6:
          tile<V, 6>(k, A + i, bj, cij, ld);
          break;
        case 5:
          tile<V, 5>(k, A + i, bj, cij, ld);
          break;
        case 4:
          tile<V, 4>(k, A + i, bj, cij, ld);
          break;
        case 3:
          tile<V, 3>(k, A + i, bj, cij, ld);
          break;
        case 2:
          tile<V, 2>(k, A + i, bj, cij, ld);
          break;
        default:
          tile<V, 1>(k, A + i, bj, cij, ld);
          break;
      }
      j += wd;
    }
  }
  for (; i < r; ++i)  // the last r % MR rows: one FMA chain per entry, as in the lanes
    for (int64_t j = 0; j < c; ++j) {
      T s = T(0);
      for (int64_t q = 0; q < k; ++q) s = std::fma(A[i + q * ld], B[q + j * ld], s);
      C[i + j * ld] -= s;
    }
}
