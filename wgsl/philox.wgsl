// Philox4x32-10 (Salmon et al., SC'11), bit-identical to native/philox.h. WGSL has no 64-bit integers,
// so the 32x32 -> 64 products are assembled from 16-bit halves.

fn lr_mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let ll = a_lo * b_lo;
  let lh = a_lo * b_hi;
  let hl = a_hi * b_lo;
  let hh = a_hi * b_hi;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
  let lo = a * b; // wrapping multiply gives the low word directly
  return vec2<u32>(hi, lo);
}

fn lr_philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r = r + 1u) {
    let p0 = lr_mulhilo(0xD2511F53u, c.x);
    let p1 = lr_mulhilo(0xCD9E8D57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}

// f32 uniform in (0, 1): ((w >> 9) + 0.5) * 2^-23, exact in binary32.
fn lr_unit_f32(w: u32) -> f32 {
  return (f32(w >> 9u) + 0.5) * 1.1920928955078125e-7;
}

const LR_TWO_PI: f32 = 6.28318530717958647692;

// Four standard normals from one Philox block (two Box-Muller pairs), as native/rng.cc.
fn lr_normal4(r: vec4<u32>) -> vec4<f32> {
  let u0 = lr_unit_f32(r.x);
  let u1 = lr_unit_f32(r.y);
  let u2 = lr_unit_f32(r.z);
  let u3 = lr_unit_f32(r.w);
  let r1 = sqrt(-2.0 * log(u0));
  let t1 = LR_TWO_PI * u1;
  let r2 = sqrt(-2.0 * log(u2));
  let t2 = LR_TWO_PI * u3;
  return vec4<f32>(r1 * cos(t1), r1 * sin(t1), r2 * cos(t2), r2 * sin(t2));
}
