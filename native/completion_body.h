// Per-segment kernels of completion_kernels.cc. No include guard: completion_kernels.cc includes this file once per
// instruction set, inside a namespace and a target region (isa.h), so the same source is compiled for
// the baseline, AVX2 and AVX-512. Fixed evaluation order (explicit 8-lane partial sums), so results do
// not depend on the instruction set.

// dot(a, b) with 8 independent partial sums (vectorizable without reassociation), then a fixed tree.
template <class T>
inline __attribute__((always_inline)) T dot8(const T* a, const T* b, int64_t k) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    for (int l = 0; l < 8; ++l) acc[l] += a[i + l] * b[i + l];
  T tail = 0;
  for (; i < k; ++i) tail += a[i] * b[i];
  return (((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))) + tail;
}

// Gram (or diagonal) of segment j into a.out; y is scratch of k elements. False: an index is out of
// range (the arrays changed during the call).
template <class T>
bool gramSegment(const GramArgs<T>& a, int64_t j, T* y) {
  const int64_t kk = a.k;
  const int64_t width = a.diag ? kk : kk * kk;
  T* g = a.out + j * width;
  for (int64_t e = 0; e < width; ++e) g[e] = 0;
  const int64_t b = a.ptr[j], e = a.ptr[j + 1];
  if (b < 0 || b > e || e > a.nnz) return false;
  const int64_t len = e - b;
  if (len == 0) return true;
  if (a.diag) {
    for (int64_t q = b; q < e; ++q) {
      const int64_t c = a.idx[q];
      if (c < 0 || c >= a.cols) return false;
      const T* f = a.F + c * kk;
      for (int64_t t = 0; t < kk; ++t) g[t] += f[t] * f[t];
    }
    return true;
  }
  // Full rows (both triangles): a fixed-length axpy per row vectorizes; twice the flops of one
  // triangle but faster than the ragged lower-triangle loop.
  auto rank1 = [&](const T* f) {
    for (int64_t r = 0; r < kk; ++r) {
      const T fr = f[r];
      T* gr = g + r * kk;
      for (int64_t c = 0; c < kk; ++c) gr[c] += fr * f[c];
    }
  };
  const int64_t s = a.order ? std::min(len, a.sketchRows) : len;
  if (!a.order || s == len) {
    // Exact Gram (a sketch with one bucket per entry is a signed permutation: the same Gram).
    for (int64_t q = b; q < e; ++q) {
      const int64_t c = a.idx[q];
      if (c < 0 || c >= a.cols) return false;
      rank1(a.F + c * kk);
    }
    return true;
  }
  for (int64_t bk = 0; bk < s; ++bk) {
    for (int64_t t = 0; t < kk; ++t) y[t] = 0;
    for (int64_t t = bk; t < len; t += s) {
      const int64_t v = a.order[b + t];
      const int64_t pos = v < 0 ? -v - 1 : v;
      if (pos < b || pos >= e) return false;
      const int64_t c = a.idx[pos];
      if (c < 0 || c >= a.cols) return false;
      const T* f = a.F + c * kk;
      if (v < 0)
        for (int64_t u = 0; u < kk; ++u) y[u] -= f[u];
      else
        for (int64_t u = 0; u < kk; ++u) y[u] += f[u];
    }
    rank1(y);
  }
  return true;
}

// `steps` PCG steps for segment j (see completion.cc); buf is scratch of 5 k elements.
template <class T>
bool cgSegment(const CgArgs<T>& a, int64_t j, T* buf) {
  const int64_t kk = a.k;
  T* r = buf;
  T* zz = r + kk;
  T* p = zz + kk;
  T* q = p + kk;
  T* y = q + kk;
  T* x = a.X + j * kk;
  for (int64_t i = 0; i < kk; ++i) {
    x[i] = a.X0[j * kk + i];
    r[i] = 0;
  }
  const int64_t b = a.ptr[j], e = a.ptr[j + 1];
  if (b < 0 || b > e || e > a.nnz) return false;
  if (b == e) return true;
  const T* pre = a.P + j * a.pw;
  T lambda = 0;  // ridge: set after the first pass (it needs trace(A^T A) = sum of |f|^2)
  auto precond = [&](const T* rin, T* out) {
    if (a.pw == kk) {
      for (int64_t i = 0; i < kk; ++i) {
        const T d = pre[i] + lambda;
        out[i] = d > T(0) ? rin[i] / d : T(0);
      }
      return;
    }
    for (int64_t i = 0; i < kk; ++i) y[i] = dot8(pre + i * kk, rin, i + 1);  // y = W r
    for (int64_t c = 0; c < kk; ++c) out[c] = 0;                             // out = W^T y
    for (int64_t i = 0; i < kk; ++i) {
      const T yi = y[i];
      const T* wi = pre + i * kk;
      for (int64_t c = 0; c <= i; ++c) out[c] += wi[c] * yi;
    }
  };
  // r = A^T (b - A x) - lambda x, lambda = ridge_j trace(A^T A) / k
  T tr = 0;
  for (int64_t t = b; t < e; ++t) {
    const int64_t c = a.idx[t];
    const int64_t vq = a.perm ? a.perm[t] : t;
    if (c < 0 || c >= a.cols || vq < 0 || vq >= a.nnz) return false;
    const T* f = a.F + c * kk;
    const T res = a.vals[vq] - dot8(f, x, kk);
    if (a.ridge) tr += dot8(f, f, kk);
    for (int64_t i = 0; i < kk; ++i) r[i] += res * f[i];
  }
  if (a.ridge && a.ridge[j] > T(0)) {
    lambda = a.ridge[j] * tr / static_cast<T>(kk);
    for (int64_t i = 0; i < kk; ++i) r[i] -= lambda * x[i];
  }
  precond(r, zz);
  for (int64_t i = 0; i < kk; ++i) p[i] = zz[i];
  T rz = dot8(r, zz, kk);
  for (int64_t s = 0; s < a.steps; ++s) {
    if (!(rz > T(0)) || !std::isfinite(rz)) break;
    for (int64_t i = 0; i < kk; ++i) q[i] = 0;
    for (int64_t t = b; t < e; ++t) {
      const int64_t c = a.idx[t];
      if (c < 0 || c >= a.cols) return false;
      const T* f = a.F + c * kk;
      const T w = dot8(f, p, kk);
      for (int64_t i = 0; i < kk; ++i) q[i] += w * f[i];
    }
    if (lambda > T(0))
      for (int64_t i = 0; i < kk; ++i) q[i] += lambda * p[i];
    const T pq = dot8(p, q, kk);
    if (!(pq > T(0)) || !std::isfinite(pq)) break;
    const T alpha = rz / pq;
    for (int64_t i = 0; i < kk; ++i) x[i] += alpha * p[i];
    if (s + 1 == a.steps) break;
    for (int64_t i = 0; i < kk; ++i) r[i] -= alpha * q[i];
    precond(r, zz);
    const T rz2 = dot8(r, zz, kk);
    const T beta = rz2 / rz;
    for (int64_t i = 0; i < kk; ++i) p[i] = zz[i] + beta * p[i];
    rz = rz2;
  }
  return true;
}

// Lower Cholesky of L + lambda I in place (lower triangle read); false on breakdown. Plain sequential
// dot products: measured faster here than dot8 for these short, ragged rows.
template <class T>
bool cholSegment(T* L, int64_t k, T lambda, T tiny) {
  for (int64_t j = 0; j < k; ++j) {
    T* lj = L + j * k;
    T d = lj[j] + lambda;
    for (int64_t c = 0; c < j; ++c) d -= lj[c] * lj[c];
    if (!(d > tiny) || !std::isfinite(d)) return false;
    const T rt = std::sqrt(d);
    lj[j] = rt;
    for (int64_t i = j + 1; i < k; ++i) {
      T* li = L + i * k;
      T acc = li[j];
      for (int64_t c = 0; c < j; ++c) acc -= li[c] * lj[c];
      li[j] = acc / rt;
    }
  }
  return true;
}
