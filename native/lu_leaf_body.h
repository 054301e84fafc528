// The LU leaf kernels (lu.cc): pivot search, the left-looking step and the small-k update, written once
// over a vector type V and compiled once per ISA.
//
// NO include guard and NO #include on purpose (as gemm_body.h): lu.cc includes this file inside each ISA's
// namespace and target region (avx2, avx512), after defining V and LR_LU_INLINE. V provides T, R (values),
// I (lane row indices), W, set1, loadu, storeu, mul, div, sub, fmadd, key (|x|, NaN -> -1), gt (a mask:
// a vector on AVX2, a mask register on AVX-512), blend / iblend (b where the mask is set), iota, iadd,
// iset1, istore. Every lane does the same operations as the scalar code on its rows (search and step: no
// FMA; update: one FMA chain over q in order, subtracted once), and the lane candidates merge by (key, lowest
// row), so the vector width never changes a result.

// Lane-wise first maximum: lane k has seen rows k, k + W, ... in increasing order.
template <class V>
struct Track {
  typename V::R best;
  typename V::I idx, cur;
  LR_LU_INLINE Track() : best(V::set1(typename V::T(-2))), idx(V::iset1(-1)), cur(V::iota()) {}
  LR_LU_INLINE void offer(typename V::R x) {
    const typename V::R k = V::key(x);
    const auto g = V::gt(k, best);  // a vector mask (AVX2) or a mask register (AVX-512)
    best = V::blend(best, k, g);
    idx = V::iblend(idx, cur, g);
    cur = V::iadd(cur, V::iset1(V::W));
  }
  Cand result(int64_t row0) const {
    typename V::T kb[V::W];
    int64_t ib[V::W];
    V::storeu(kb, best);
    V::istore(ib, idx);
    Cand c;
    for (int k = 0; k < V::W; ++k)
      if (ib[k] >= 0) c.merge(Cand{static_cast<double>(kb[k]), row0 + ib[k]});
    return c;
  }
};

template <class V>
Cand search(const typename V::T* x, int64_t n, int64_t row0) {
  Track<V> tr;
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) tr.offer(V::loadu(x + i));
  Cand c = tr.result(row0);
  for (; i < n; ++i) c.offer(static_cast<double>(x[i]), row0 + i);
  return c;
}

template <class V>
Cand step(typename V::T* X, int64_t ld, int64_t n, int j, bool next, const typename V::T* u, typename V::T f, int mode,
          int64_t row0) {
  using T = typename V::T;
  using R = typename V::R;
  Track<V> tr;
  const R vf = V::set1(f);
  T* x = X + (j - 1) * ld;
  T* y = X + j * ld;
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W) {
    R l = V::loadu(x + i);
    if (mode == kMul)
      l = V::mul(l, vf);
    else if (mode == kDiv)
      l = V::div(l, vf);
    V::storeu(x + i, l);
    if (!next) continue;
    R acc = V::loadu(y + i);
    for (int k = 0; k + 1 < j; ++k) acc = V::sub(acc, V::mul(V::loadu(X + k * ld + i), V::set1(u[k])));
    acc = V::sub(acc, V::mul(l, V::set1(u[j - 1])));
    V::storeu(y + i, acc);
    tr.offer(acc);
  }
  Cand c = next ? tr.result(row0) : Cand();
  c.merge(scalar::step<T>(X + i, ld, n - i, j, next, u, f, mode, row0 + i));
  return c;
}

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
