// Scaled sums of squares (LAPACK lassq): a pair (scale, ssq) stands for scale^2 * ssq, so norms of f32
// data near the overflow or underflow threshold are computed without overflow. Empty = (0, 1).
// scale is also the running max |x|, which gives the max-norm for free.
// NaN: WGSL comparisons with NaN are not reliable (implementations may assume finite values), so a NaN
// input is detected from its bits and marked by a negative ssq (-1), which every later step keeps;
// readers turn a negative ssq into NaN.

fn ssq_is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn ssq_is_inf(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) == 0x7f800000u;
}

fn ssq_add(s: vec2<f32>, v: f32) -> vec2<f32> {
  if (s.y < 0.0 || ssq_is_nan(v)) {
    return vec2<f32>(s.x, -1.0);
  }
  if (ssq_is_inf(v) || ssq_is_inf(s.x)) {
    // Infinity stays Infinity (scale Inf, ssq 1); only a NaN overrides it. (Inf is taken from the
    // data: WGSL has no infinite constants.)
    return vec2<f32>(select(s.x, abs(v), ssq_is_inf(v)), 1.0);
  }
  let a = abs(v);
  if (a == 0.0) {
    return s;
  }
  if (s.x < a) {
    let r = s.x / a;
    return vec2<f32>(a, 1.0 + s.y * r * r);
  }
  let r = a / s.x;
  return vec2<f32>(s.x, s.y + r * r);
}

fn ssq_merge(p: vec2<f32>, q: vec2<f32>) -> vec2<f32> {
  if (p.y < 0.0 || q.y < 0.0) {
    return vec2<f32>(max(p.x, q.x), -1.0);
  }
  if (ssq_is_inf(p.x) || ssq_is_inf(q.x)) {
    return vec2<f32>(select(q.x, p.x, ssq_is_inf(p.x)), 1.0);
  }
  if (q.x == 0.0) {
    return p;
  }
  if (p.x < q.x) {
    let r = p.x / q.x;
    return vec2<f32>(q.x, q.y + p.y * r * r);
  }
  let r = q.x / p.x;
  return vec2<f32>(p.x, p.y + q.y * r * r);
}
