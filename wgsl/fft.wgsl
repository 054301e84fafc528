// Batched FFT convolution pieces (kernels/ssm.ts): packing real rows into complex rows, radix-2/4
// Stockham passes over a batch of rows, the pointwise complex product with a channel's spectrum, and
// unpacking with the 1/n scale and the D u skip term.
//
// Complex data: interleaved vec2<f32> (re, im), row q of length n at q n. Two real input rows of the same
// channel h (batch 2p and 2p + 1) share one complex row (u_a + i u_b); since the kernel spectrum is that
// of a real signal, the inverse transform of the product is y_a + i y_b.
// Stockham pass (radix R, current sub-transform length Ns): for j < n / R,
//   v_r = x[j + r n / R] * w^(r k), k = j mod Ns, w = exp(-+ 2 pi i / (Ns R)),  y = DFT_R(v),
//   out[(j / Ns) Ns R + k + r Ns] = y_r;   passes with Ns = 1, R, R R', ... give the ordered transform.
// Twiddles come from a host table tw[t] = exp(-2 pi i t / n) (f64-accurate), conjugated for the inverse.
// Linear element index = (wg.x + wg.y * nwg.x) * 256 + local index (the host folds large grids).

struct Params { rows: u32, n: u32, L: u32, H: u32, ns: u32, radix: u32, inverse: u32, p0: u32, batch: u32, has_d: u32 }

@group(0) @binding(0) var<uniform> P: Params;

fn lin(wg: vec3<u32>, nwg: vec3<u32>, li: u32) -> u32 {
  return (wg.x + wg.y * nwg.x) * 256u + li;
}

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

// ---- one Stockham pass (radix 2 or 4) over `rows` rows of length n ----
@group(0) @binding(1) var<storage, read> st_src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> st_dst: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> st_tw: array<vec2<f32>>;

fn twiddle(t: u32) -> vec2<f32> {
  let w = st_tw[t];
  if (P.inverse != 0u) { return vec2<f32>(w.x, -w.y); }
  return w;
}

// i * v for the forward transform's -i (and +i for the inverse): rot(v) = -+ i v.
fn rot(v: vec2<f32>) -> vec2<f32> {
  if (P.inverse != 0u) { return vec2<f32>(-v.y, v.x); }
  return vec2<f32>(v.y, -v.x);
}

@compute @workgroup_size(256)
fn stockham(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_index) li: u32) {
  let i = lin(wg, nwg, li);
  let R = P.radix;
  let m = P.n / R;
  if (i >= P.rows * m) { return; }
  let q = i / m;
  let j = i % m;
  let base = q * P.n;
  let ns = P.ns;
  let k = j % ns;
  let stride = P.n / (ns * R);  // twiddle index step: exp(-2 pi i r k / (ns R)) = tw[r k stride]
  let d = base + (j / ns) * ns * R + k;
  if (R == 2u) {
    let v0 = st_src[base + j];
    let v1 = cmul(st_src[base + j + m], twiddle(k * stride));
    st_dst[d] = v0 + v1;
    st_dst[d + ns] = v0 - v1;
  } else {
    let v0 = st_src[base + j];
    let v1 = cmul(st_src[base + j + m], twiddle(k * stride));
    let v2 = cmul(st_src[base + j + 2u * m], twiddle(2u * k * stride));
    let v3 = cmul(st_src[base + j + 3u * m], twiddle(3u * k * stride));
    let a0 = v0 + v2;
    let a1 = v0 - v2;
    let a2 = v1 + v3;
    let a3 = rot(v1 - v3);
    st_dst[d] = a0 + a2;
    st_dst[d + ns] = a1 + a3;
    st_dst[d + 2u * ns] = a0 - a2;
    st_dst[d + 3u * ns] = a1 - a3;
  }
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
