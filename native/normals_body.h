// Generic SIMD body of philoxNormals (normals.h), included by normals_avx2.cc and normals_avx512.cc
// inside their target region and their own namespace, with a traits struct V:
//   V::L blocks per group (u32 lanes), VI/VF (L lanes of u32 / f32), VD/VQ (L/2 lanes of f64 / u64).
//
// Per group of L consecutive Philox blocks: Philox4x32-10 in SIMD lanes (the 32x32->64 products on
// even/odd lanes), the uniforms exactly as native/philox.h (same bits), then Box-Muller with
//   ln u:   u = m 2^e, m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.172,
//           odd Taylor series in s to s^9 (f32) / s^21 (f64), e ln 2 with a two-part ln 2;
//   sincos: t = 2 pi u rounded in the target precision (as the scalar path), q = round(t 2/pi),
//           x = t - q pi/2 with a three-part pi/2 (FMA), Taylor series of sin x, cos x on
//           [-pi/4, pi/4] (to degree 9/10 in f32, 17/18 in f64), the quadrant q selects / negates.
// Truncation errors are below 0.05 ulp; the results are within a few ulps of the scalar path
// (measured over 2^24 normals, f32 and f64: at most 4 ulp and 4 u r apart, 78 % bit-identical).
// This header has no include guard on purpose (one copy per ISA namespace).

// 1 / n! and 1 / n, rounded once from long double.
constexpr long double invFact(int n) {
  long double r = 1.0L;
  for (int i = 2; i <= n; ++i) r /= static_cast<long double>(i);
  return r;
}
template <class T>
constexpr T sinC(int k) {
  return static_cast<T>((k % 2 ? -1.0L : 1.0L) * invFact(2 * k + 1));
}
template <class T>
constexpr T cosC(int k) {
  return static_cast<T>((k % 2 ? -1.0L : 1.0L) * invFact(2 * k));
}
template <class T>
constexpr T inv(int n) {
  return static_cast<T>(1.0L / static_cast<long double>(n));
}

// Philox4x32-10 of blocks b .. b + L - 1 (counter (b mod 2^32, b div 2^32, stream, 0)): w[j][lane].
LR_GK_INLINE void philoxGroup(uint64_t b, const PhiloxKey& key, uint32_t (*w)[V::L]) {
  alignas(64) uint32_t lo[V::L], hi[V::L];
  for (int j = 0; j < V::L; ++j) {
    uint64_t bj = b + static_cast<uint64_t>(j);
    lo[j] = static_cast<uint32_t>(bj);
    hi[j] = static_cast<uint32_t>(bj >> 32);
  }
  typename V::VI c0 = V::load(lo), c1 = V::load(hi), c2 = V::set1(key.stream), c3 = V::set1(0);
  const typename V::VI m0 = V::set1(0xD2511F53u), m1 = V::set1(0xCD9E8D57u);
  uint32_t k0 = key.k0, k1 = key.k1;
  for (int r = 0; r < 10; ++r) {
    typename V::VI hi0, lo0, hi1, lo1;
    V::mulhilo(c0, m0, hi0, lo0);
    V::mulhilo(c2, m1, hi1, lo1);
    c0 = V::xor32(V::xor32(hi1, c1), V::set1(k0));
    c1 = lo1;
    c2 = V::xor32(V::xor32(hi0, c3), V::set1(k1));
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  V::store(w[0], c0);
  V::store(w[1], c1);
  V::store(w[2], c2);
  V::store(w[3], c3);
}

// ---- f32 ----

LR_GK_INLINE typename V::VF unitF(typename V::VI w) {
  return V::mulf(V::addf(V::cvtf(V::srl32(w, 9)), V::set1f(0.5f)), V::set1f(1.1920928955078125e-7f));
}

// sqrt(-2 ln u), u in (0, 1) normal.
LR_GK_INLINE typename V::VF radiusF(typename V::VF u) {
  using VI = typename V::VI;
  using VF = typename V::VF;
  const VI bits = V::castfi(u);
  const VI eb = V::srl32(V::add32(bits, V::set1(0x004AFB0Du)), 23);  // biased exponent, m in [sqrt .5, sqrt 2)
  const VI e = V::sub32(eb, V::set1(127));
  const VF m = V::castif(V::sub32(bits, V::sll32(e, 23)));
  const VF f = V::subf(m, V::set1f(1.0f));
  const VF s = V::divf(f, V::addf(f, V::set1f(2.0f)));
  const VF s2 = V::mulf(s, s);
  VF p = V::set1f(inv<float>(9));
  p = V::fmaf(p, s2, V::set1f(inv<float>(7)));
  p = V::fmaf(p, s2, V::set1f(inv<float>(5)));
  p = V::fmaf(p, s2, V::set1f(inv<float>(3)));
  const VF s2x = V::addf(s, s);
  const VF lnm = V::fmaf(V::mulf(s2x, s2), p, s2x);
  const VF ef = V::cvtf(e);
  const VF lnu = V::fmaf(ef, V::set1f(0.693115234375f), V::fmaf(ef, V::set1f(3.19461833e-05f), lnm));
  return V::sqrtf(V::mulf(lnu, V::set1f(-2.0f)));
}

// (cos t, sin t) of t = fl(2 pi u) in binary32 (as the scalar path), u in (0, 1).
LR_GK_INLINE void sincosF(typename V::VF u, typename V::VF& c, typename V::VF& s) {
  using VI = typename V::VI;
  using VF = typename V::VF;
  const VF t = V::mulf(V::set1f(6.28318530717958647692f), u);
  const VF magic = V::set1f(12582912.0f);  // 1.5 2^23: adding it rounds to an integer
  const VF y = V::fmaf(t, V::set1f(0.636619772f), magic);
  const VI q = V::castfi(y);  // low bits: q = round(t 2/pi)
  const VF qf = V::subf(y, magic);
  VF x = V::fmaf(qf, V::set1f(-1.57079637f), t);  // t - q pi/2, three-part pi/2
  x = V::fmaf(qf, V::set1f(4.37113883e-08f), x);
  x = V::fmaf(qf, V::set1f(1.71512451e-15f), x);
  const VF x2 = V::mulf(x, x);
  VF ps = V::set1f(sinC<float>(4));
  ps = V::fmaf(ps, x2, V::set1f(sinC<float>(3)));
  ps = V::fmaf(ps, x2, V::set1f(sinC<float>(2)));
  ps = V::fmaf(ps, x2, V::set1f(sinC<float>(1)));
  const VF sn = V::fmaf(V::mulf(x, x2), ps, x);
  VF pc = V::set1f(cosC<float>(5));
  pc = V::fmaf(pc, x2, V::set1f(cosC<float>(4)));
  pc = V::fmaf(pc, x2, V::set1f(cosC<float>(3)));
  pc = V::fmaf(pc, x2, V::set1f(cosC<float>(2)));
  pc = V::fmaf(pc, x2, V::set1f(cosC<float>(1)));
  const VF cs = V::fmaf(pc, x2, V::set1f(1.0f));
  // t = q pi/2 + x: odd q swaps cos/sin; cos < 0 for q = 1, 2; sin < 0 for q = 2, 3 (q mod 4).
  const VF cq = V::blendOddF(q, cs, sn), sq = V::blendOddF(q, sn, cs);
  const VI two = V::set1(2);
  c = V::xorf(cq, V::sll32(V::and32(V::add32(q, V::set1(1)), two), 30));
  s = V::xorf(sq, V::sll32(V::and32(q, two), 30));
}

// 4 L normals of blocks b .. b + L - 1 in stream order.
LR_GK_INLINE void groupOf(uint64_t b, const PhiloxKey& key, float* dst) {
  alignas(64) uint32_t w[4][V::L];
  philoxGroup(b, key, w);
  typename V::VF z[4];
  for (int p = 0; p < 2; ++p) {
    typename V::VF c, s;
    const typename V::VF r = radiusF(unitF(V::load(w[2 * p])));
    sincosF(unitF(V::load(w[2 * p + 1])), c, s);
    z[2 * p] = V::mulf(r, c);
    z[2 * p + 1] = V::mulf(r, s);
  }
  V::storeInterleave4(dst, z[0], z[1], z[2], z[3]);  // dst[4 j + k] = z[k][j]
}

// ---- f64 ----

// 52-bit uniform of words (a, b) of V::L / 2 blocks: (((a >> 6) << 26 | (b >> 6)) + 0.5) 2^-52, exact.
LR_GK_INLINE typename V::VD unitD(const uint32_t* a, const uint32_t* b) {
  const typename V::VQ x = V::or64(V::sll64(V::srl64(V::widen(a), 6), 26), V::srl64(V::widen(b), 6));
  const typename V::VD big = V::castid(V::or64(x, V::set1q(0x4330000000000000ull)));  // 2^52 + x
  return V::muld(V::subd(big, V::set1d(4503599627370495.5)), V::set1d(2.220446049250313e-16));
}

LR_GK_INLINE typename V::VD radiusD(typename V::VD u) {
  using VQ = typename V::VQ;
  using VD = typename V::VD;
  const VQ bits = V::castdi(u);
  const VQ eb = V::srl64(V::add64(bits, V::set1q(0x00095F619980C433ull)), 52);
  const VD m = V::castid(V::add64(V::sub64(bits, V::sll64(eb, 52)), V::set1q(0x3FF0000000000000ull)));
  const VD f = V::subd(m, V::set1d(1.0));
  const VD s = V::divd(f, V::addd(f, V::set1d(2.0)));
  const VD s2 = V::muld(s, s);
  VD p = V::set1d(inv<double>(21));
  p = V::fmad(p, s2, V::set1d(inv<double>(19)));
  p = V::fmad(p, s2, V::set1d(inv<double>(17)));
  p = V::fmad(p, s2, V::set1d(inv<double>(15)));
  p = V::fmad(p, s2, V::set1d(inv<double>(13)));
  p = V::fmad(p, s2, V::set1d(inv<double>(11)));
  p = V::fmad(p, s2, V::set1d(inv<double>(9)));
  p = V::fmad(p, s2, V::set1d(inv<double>(7)));
  p = V::fmad(p, s2, V::set1d(inv<double>(5)));
  p = V::fmad(p, s2, V::set1d(inv<double>(3)));
  const VD s2x = V::addd(s, s);
  const VD lnm = V::fmad(V::muld(s2x, s2), p, s2x);
  // e = eb - 1023 as a double: 2^52 + eb minus 2^52 + 1023 (exact).
  const VD ed = V::subd(V::castid(V::or64(eb, V::set1q(0x4330000000000000ull))), V::set1d(4503599627371519.0));
  const VD lnu = V::fmad(ed, V::set1d(0.6931471803691238), V::fmad(ed, V::set1d(1.9082149292705877e-10), lnm));
  return V::sqrtd(V::muld(lnu, V::set1d(-2.0)));
}

// (cos t, sin t) of t = fl(2 pi u) in binary64 (as the scalar path), u in (0, 1).
LR_GK_INLINE void sincosD(typename V::VD u, typename V::VD& c, typename V::VD& s) {
  using VQ = typename V::VQ;
  using VD = typename V::VD;
  const VD t = V::muld(V::set1d(6.28318530717958647692), u);
  const VD magic = V::set1d(6755399441055744.0);  // 1.5 2^52
  const VD y = V::fmad(t, V::set1d(0.6366197723675814), magic);
  const VQ q = V::castdi(y);
  const VD qf = V::subd(y, magic);
  VD x = V::fmad(qf, V::set1d(-1.5707963267948966), t);
  x = V::fmad(qf, V::set1d(-6.123233995736766e-17), x);
  x = V::fmad(qf, V::set1d(1.4973849048591698e-33), x);
  const VD x2 = V::muld(x, x);
  VD ps = V::set1d(sinC<double>(8));
  for (int k = 7; k >= 1; --k) ps = V::fmad(ps, x2, V::set1d(sinC<double>(k)));
  const VD sn = V::fmad(V::muld(x, x2), ps, x);
  VD pc = V::set1d(cosC<double>(9));
  for (int k = 8; k >= 1; --k) pc = V::fmad(pc, x2, V::set1d(cosC<double>(k)));
  const VD cs = V::fmad(pc, x2, V::set1d(1.0));
  const VD cq = V::blendOddD(q, cs, sn), sq = V::blendOddD(q, sn, cs);
  const VQ two = V::set1q(2);
  c = V::xord(cq, V::sll64(V::and64(V::add64(q, V::set1q(1)), two), 62));
  s = V::xord(sq, V::sll64(V::and64(q, two), 62));
}

// 2 L normals of blocks b .. b + L - 1 in stream order.
LR_GK_INLINE void groupOf(uint64_t b, const PhiloxKey& key, double* dst) {
  alignas(64) uint32_t w[4][V::L];
  philoxGroup(b, key, w);
  constexpr int H = V::L / 2;
  for (int h = 0; h < 2; ++h) {
    typename V::VD c, s;
    const typename V::VD r = radiusD(unitD(w[0] + h * H, w[1] + h * H));
    sincosD(unitD(w[2] + h * H, w[3] + h * H), c, s);
    V::storeInterleave2(dst + 2 * h * H, V::muld(r, c), V::muld(r, s));  // d[2 j] = cos part, d[2 j + 1] = sin part
  }
}

// out[j] = normal element first + j (j < len), W normals per block: whole groups straight into out,
// partial ones through a buffer.
template <int W, class T>
LR_GK_INLINE void normalsRange(T* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  constexpr int G = W * V::L;  // normals per group
  uint64_t b = first / W;
  int64_t e = -static_cast<int64_t>(first % W);  // output index of block b's first normal
  alignas(64) T buf[G];
  for (; e < len; e += G, b += V::L) {
    if (e >= 0 && e + G <= len) {
      groupOf(b, key, out + e);
    } else {
      groupOf(b, key, buf);
      const int64_t j0 = e < 0 ? -e : 0, j1 = len - e < G ? len - e : G;
      for (int64_t j = j0; j < j1; ++j) out[e + j] = buf[j];
    }
  }
}

void normalsF32(float* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  normalsRange<4>(out, len, first, key);
}

void normalsF64(double* out, int64_t len, uint64_t first, const PhiloxKey& key) {
  normalsRange<2>(out, len, first, key);
}
