// Scaled sums of squares (LAPACK lassq): a pair (scale, ssq) stands for scale^2 * ssq, so norms of f32
// data near the overflow or underflow threshold are computed without overflow. Empty = (0, 1).
// scale is also the running max |x|, which gives the max-norm for free.

fn ssq_add(s: vec2<f32>, v: f32) -> vec2<f32> {
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
