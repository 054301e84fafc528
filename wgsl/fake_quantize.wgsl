// Group-wise quantize-dequantize (engine.fakeQuantize): every gs consecutive entries of a (the last group
// may be shorter) share scale = (max - min) / qmax (equal values c: |c| / qmax, or 1 / qmax for c = 0) and
// zero = -min / scale; q = clamp(round(a / scale + zero), 0, qmax) with round ties-to-even (stochastic = 0)
// or floor(x + u) (stochastic = 1: u is element off + e of the f32 Philox uniform stream (k0, k1, stream),
// as rand: block E / 4, word E mod 4); out = scale (q - zero). A group with a non-finite entry is NaN.
// One 256-wide workgroup per group (gs <= 4096, checked by the engine): a min / max reduction in
// workgroup memory, then the rounding.
//!include "philox.wgsl"

struct FQParams { n: u32, gs: u32, qmax: f32, stochastic: u32, k0: u32, k1: u32, stream: u32, off_lo: u32, off_hi: u32 }

@group(0) @binding(0) var<uniform> PQ: FQParams;
@group(0) @binding(1) var<storage, read> fq_a: array<f32>;
@group(0) @binding(2) var<storage, read_write> fq_out: array<f32>;

var<workgroup> fq_lo: array<f32, 256>;
var<workgroup> fq_hi: array<f32, 256>;
var<workgroup> fq_bad: array<u32, 256>;

@compute @workgroup_size(256)
fn fake_quantize(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) li: u32) {
  let g = wg.x + wg.y * nwg.x;
  let a = g * PQ.gs;
  if (a >= PQ.n) {
    return;
  }
  let b = min(PQ.n, a + PQ.gs);
  var lo = 3.4028234663852886e38;
  var hi = -3.4028234663852886e38;
  var bad = 0u;
  for (var i = a + li; i < b; i = i + 256u) {
    let v = fq_a[i];
    if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) {
      bad = 1u;
    } else {
      lo = min(lo, v);
      hi = max(hi, v);
    }
  }
  fq_lo[li] = lo;
  fq_hi[li] = hi;
  fq_bad[li] = bad;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h = h >> 1u) {
    if (li < h) {
      fq_lo[li] = min(fq_lo[li], fq_lo[li + h]);
      fq_hi[li] = max(fq_hi[li], fq_hi[li + h]);
      fq_bad[li] = fq_bad[li] | fq_bad[li + h];
    }
    workgroupBarrier();
  }
  let glo = fq_lo[0];
  let ghi = fq_hi[0];
  if (fq_bad[0] != 0u) {
    let nan_bits = 0x7fc00000u | (li & 0u); // a runtime value: a constant NaN does not compile
    for (var i = a + li; i < b; i = i + 256u) {
      fq_out[i] = bitcast<f32>(nan_bits);
    }
    return;
  }
  var s: f32;
  if (ghi > glo) {
    s = (ghi - glo) / PQ.qmax;
  } else {
    s = select(1.0, abs(glo), glo != 0.0) / PQ.qmax;
  }
  let z = -glo / s;
  for (var i = a + li; i < b; i = i + 256u) {
    let x = fq_a[i] / s + z;
    var q: f32;
    if (PQ.stochastic != 0u) {
      // 64-bit element index E = off + i, its block E / 4 and word E mod 4
      let elo = PQ.off_lo + i;
      let ehi = PQ.off_hi + select(0u, 1u, elo < i);
      let r = lr_philox4x32_10(vec4<u32>((elo >> 2u) | (ehi << 30u), ehi >> 2u, PQ.stream, 0u), vec2<u32>(PQ.k0, PQ.k1));
      let u = lr_unit_f32(r[elo & 3u]);
      let f = floor(x);
      q = f + select(0.0, 1.0, u < x - f);
    } else {
      q = round(x);
    }
    q = clamp(q, 0.0, PQ.qmax);
    fq_out[i] = s * (q - z);
  }
}
