// Batched FFT convolution pieces (kernels/ssm.ts): packing real rows into complex rows, radix-2 FFT
// stages over a batch of rows (global memory for long spans, workgroup memory for the short ones), the
// pointwise complex product with a channel's spectrum, and unpacking with the 1/n scale and D u.
//
// Complex data: interleaved vec2<f32> (re, im), row q of length n at q n. Two real input rows of the same
// channel h (batch 2p and 2p + 1) share one complex row (u_a + i u_b); since the kernel spectrum is that
// of a real signal, the inverse transform of the product is y_a + i y_b.
// Twiddles come from a host table tw[t] = exp(-2 pi i t / n), t < n / 2 (f64-accurate; no device trig).
// Linear element index = (wg.x + wg.y * nwg.x) * 256 + local index (the host folds large grids).

// ns: the span s of a global FFT stage; blk: points per workgroup-memory block.
struct Params { rows: u32, n: u32, L: u32, H: u32, ns: u32, p0: u32, batch: u32, has_d: u32, blk: u32 }

@group(0) @binding(0) var<uniform> P: Params;

//!include "linear.wgsl"

fn cmul(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

// ---- packing: complex row q = (p - p0) H + h of u rows (2p) H + h and (2p + 1) H + h, zero-padded ----
@group(0) @binding(1) var<storage, read> pk_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> pk_dst: array<vec2<f32>>;

@compute @workgroup_size(256)
fn pack_pairs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i >= P.rows * P.n) { return; }
  let q = i / P.n;
  let j = i % P.n;
  var v = vec2<f32>(0.0, 0.0);
  if (j < P.L) {
    let p = P.p0 + q / P.H;
    let h = q % P.H;
    v.x = pk_src[((2u * p) * P.H + h) * P.L + j];
    if (2u * p + 1u < P.batch) {
      v.y = pk_src[((2u * p + 1u) * P.H + h) * P.L + j];
    }
  }
  pk_dst[i] = v;
}

// Real rows (the kernel K, H x L) as complex rows with zero imaginary part, zero-padded.
@compute @workgroup_size(256)
fn pack_real(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i >= P.rows * P.n) { return; }
  let q = i / P.n;
  let j = i % P.n;
  var v = vec2<f32>(0.0, 0.0);
  if (j < P.L) { v.x = pk_src[q * P.L + j]; }
  pk_dst[i] = v;
}

// ---- pointwise product of complex row q with the spectrum of its channel q mod H ----
@group(0) @binding(1) var<storage, read_write> mul_z: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> mul_k: array<vec2<f32>>;

@compute @workgroup_size(256)
fn mul_channel(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i >= P.rows * P.n) { return; }
  let q = i / P.n;
  let j = i % P.n;
  mul_z[i] = cmul(mul_z[i], mul_k[(q % P.H) * P.n + j]);
}

// ---- unpack: y rows (2p) H + h, (2p + 1) H + h = (Re, Im) of complex row q, / n, + D[h] u ----
@group(0) @binding(1) var<storage, read> up_z: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> up_u: array<f32>;
@group(0) @binding(3) var<storage, read> up_d: array<f32>;
@group(0) @binding(4) var<storage, read_write> up_y: array<f32>;

@compute @workgroup_size(256)
fn unpack_pairs(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  if (i >= P.rows * P.L) { return; }
  let q = i / P.L;
  let j = i % P.L;
  let p = P.p0 + q / P.H;
  let h = q % P.H;
  let z = up_z[q * P.n + j] * (1.0 / f32(P.n));
  var dh = 0.0;
  if (P.has_d != 0u) { dh = up_d[h]; }
  let ra = ((2u * p) * P.H + h) * P.L + j;
  up_y[ra] = z.x + dh * up_u[ra];
  if (2u * p + 1u < P.batch) {
    let rb = ((2u * p + 1u) * P.H + h) * P.L + j;
    up_y[rb] = z.y + dh * up_u[rb];
  }
}

// ---- radix-2 FFT without reordering: forward decimation in frequency (natural order in, bit-reversed
// out), inverse decimation in time (bit-reversed in, natural out). A convolution multiplies two spectra
// in the same (bit-reversed) order, so no permutation pass is ever needed. Butterfly p < n / 2 of the
// stage with span s: i = (p / (s / 2)) s + k, k = p mod (s / 2), partner i + s / 2, twiddle w_s^k =
// tw[k n / s]. Spans larger than the shared block `blk` (<= 2048 points = 16 KiB) run one dispatch per
// stage in global memory; the remaining spans (forward: blk .. 2, inverse: 2 .. blk) act inside aligned
// blocks of blk points, which one workgroup loads into workgroup memory and finishes in one dispatch.
@group(0) @binding(1) var<storage, read_write> bf_z: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> bf_tw: array<vec2<f32>>;

var<workgroup> sm: array<vec2<f32>, 2048>;

fn bf_conj(w: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(w.x, -w.y);
}

@compute @workgroup_size(256)
fn dif_global(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let g = lin(wg, nwg, li);
  let hn = P.n / 2u;
  if (g >= P.rows * hn) { return; }
  let base = (g / hn) * P.n;
  let p = g % hn;
  let half = P.ns / 2u;
  let k = p % half;
  let i = base + (p / half) * P.ns + k;
  let a = bf_z[i];
  let b = bf_z[i + half];
  bf_z[i] = a + b;
  bf_z[i + half] = cmul(a - b, bf_tw[k * (P.n / P.ns)]);
}

@compute @workgroup_size(256)
fn dit_global(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) li: u32) {
  let g = lin(wg, nwg, li);
  let hn = P.n / 2u;
  if (g >= P.rows * hn) { return; }
  let base = (g / hn) * P.n;
  let p = g % hn;
  let half = P.ns / 2u;
  let k = p % half;
  let i = base + (p / half) * P.ns + k;
  let a = bf_z[i];
  let t = cmul(bf_z[i + half], bf_conj(bf_tw[k * (P.n / P.ns)]));
  bf_z[i] = a + t;
  bf_z[i + half] = a - t;
}

// One workgroup per aligned block of blk points: load, stages in workgroup memory, store.
fn block_base(wg: vec3<u32>, nwg: vec3<u32>) -> u32 {
  let b = wg.x + wg.y * nwg.x;
  let per = P.n / P.blk;
  return (b / per) * P.n + (b % per) * P.blk;
}

@compute @workgroup_size(256)
fn dif_local(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  if (wg.x + wg.y * nwg.x >= P.rows * (P.n / P.blk)) { return; }
  let base = block_base(wg, nwg);
  for (var t = li; t < P.blk; t = t + 256u) { sm[t] = bf_z[base + t]; }
  workgroupBarrier();
  for (var s = P.blk; s >= 2u; s = s / 2u) {
    let half = s / 2u;
    for (var p = li; p < P.blk / 2u; p = p + 256u) {
      let k = p % half;
      let i = (p / half) * s + k;
      let a = sm[i];
      let b = sm[i + half];
      sm[i] = a + b;
      sm[i + half] = cmul(a - b, bf_tw[k * (P.n / s)]);
    }
    workgroupBarrier();
  }
  for (var t = li; t < P.blk; t = t + 256u) { bf_z[base + t] = sm[t]; }
}

@compute @workgroup_size(256)
fn dit_local(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) li: u32) {
  if (wg.x + wg.y * nwg.x >= P.rows * (P.n / P.blk)) { return; }
  let base = block_base(wg, nwg);
  for (var t = li; t < P.blk; t = t + 256u) { sm[t] = bf_z[base + t]; }
  workgroupBarrier();
  for (var s = 2u; s <= P.blk; s = s * 2u) {
    let half = s / 2u;
    for (var p = li; p < P.blk / 2u; p = p + 256u) {
      let k = p % half;
      let i = (p / half) * s + k;
      let a = sm[i];
      let t = cmul(sm[i + half], bf_conj(bf_tw[k * (P.n / s)]));
      sm[i] = a + t;
      sm[i + half] = a - t;
    }
    workgroupBarrier();
  }
  for (var t = li; t < P.blk; t = t + 256u) { bf_z[base + t] = sm[t]; }
}
