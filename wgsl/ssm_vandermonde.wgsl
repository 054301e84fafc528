// Vandermonde SSM kernel: K[h, l] = Re sum_n w[h, n] exp(l z[h, n]), one invocation per (h, l).
//
// Phase without f32 blow-up: the host passes the per-step rotation Im(z) / (2 pi) modulo 1 as a 64-bit
// fixed-point fraction of a turn (turn_hi, turn_lo: u32 words). The phase of step l is then exact
// modular integer arithmetic: P = l turn_hi + mulhi(l, turn_lo) (mod 2^32, u32 wrap-around), i.e. the
// angle l Im(z) reduced modulo 2 pi with an error below 2 pi 2^-32 rad for any l < 2^32. Quarter turns
// are split off in integers, and sin / cos of the remainder (|x| <= pi / 4) are Taylor polynomials
// (error < 2e-9), so no f32 argument reduction or builtin trig accuracy is involved.
//
// Table layout (u32 words, stride 5 per (h, n)): w_re, w_im, z_re (f32 bits), turn_hi, turn_lo.
// Workgroup: 256 consecutive l of one channel h; modes are staged through workgroup memory.
// Linear workgroup index = wg.x + wg.y * nwg.x (the host folds large grids), = h * tiles_l + tile.

struct Params { H: u32, N: u32, L: u32, tiles_l: u32 }

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> tab: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> s_wr: array<f32, 256>;
var<workgroup> s_wi: array<f32, 256>;
var<workgroup> s_zr: array<f32, 256>;
var<workgroup> s_th: array<u32, 256>;
var<workgroup> s_tl: array<u32, 256>;

fn mulhi32(a: u32, b: u32) -> u32 {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u);
}

// (cos, sin) of the angle 2 pi P / 2^32.
fn turn_cos_sin(p: u32) -> vec2<f32> {
  let k = ((p + 0x20000000u) >> 30u) & 3u;             // nearest quarter turn
  let r = bitcast<i32>(p - (k << 30u));                 // remainder in [-2^29, 2^29)
  let x = f32(r) * 1.4629180792671596e-9;               // 2 pi / 2^32
  let x2 = x * x;
  let s = x * (1.0 + x2 * (-1.6666666666666666e-1 + x2 * (8.3333333333333332e-3 + x2 * (-1.9841269841269841e-4 + x2 * 2.7557319223985893e-6))));
  let c = 1.0 + x2 * (-0.5 + x2 * (4.1666666666666664e-2 + x2 * (-1.3888888888888889e-3 + x2 * (2.4801587301587302e-5 - x2 * 2.7557319223985888e-7))));
  if (k == 0u) { return vec2<f32>(c, s); }
  if (k == 1u) { return vec2<f32>(-s, c); }
  if (k == 2u) { return vec2<f32>(-c, -s); }
  return vec2<f32>(s, -c);
}

@compute @workgroup_size(256)
fn vandermonde(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let idx = wg.x + wg.y * nwg.x;
  if (idx >= P.H * P.tiles_l) { return; }
  let h = idx / P.tiles_l;
  let l = (idx % P.tiles_l) * 256u + li;
  let fl = f32(l);
  var acc = 0.0;
  for (var n0 = 0u; n0 < P.N; n0 = n0 + 256u) {
    let n = n0 + li;
    if (n < P.N) {
      let e = 5u * (h * P.N + n);
      s_wr[li] = bitcast<f32>(tab[e]);
      s_wi[li] = bitcast<f32>(tab[e + 1u]);
      s_zr[li] = bitcast<f32>(tab[e + 2u]);
      s_th[li] = tab[e + 3u];
      s_tl[li] = tab[e + 4u];
    }
    workgroupBarrier();
    let cnt = min(256u, P.N - n0);
    for (var j = 0u; j < cnt; j = j + 1u) {
      let ph = l * s_th[j] + mulhi32(l, s_tl[j]);
      let cs = turn_cos_sin(ph);
      let mag = exp(fl * s_zr[j]);
      acc = acc + mag * (s_wr[j] * cs.x - s_wi[j] * cs.y);
    }
    workgroupBarrier();
  }
  if (l < P.L) {
    out[h * P.L + l] = acc;
  }
}
