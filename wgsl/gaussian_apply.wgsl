// Matrix-free Gaussian measurements (robust matrix sensing) and the element-wise sign.
//
// A (m x N) is never stored: A[i, e] is element offset + i N + e of the Philox normal stream of
// (seed, stream), the entry engine.randn(m, N, { seed, offset }) holds (4 normals per Philox block, as
// fill.wgsl). The host splits offset into the block b0 = floor(offset / 4) (two u32 words) and
// r = offset mod 4; element e of row i is then word (r + i N + e) mod 4 of block b0 + (r + i N + e) / 4,
// assembled here in 64-bit arithmetic from u32 pairs.
//!include "philox.wgsl"

struct GaussParams { n: u32, m: u32, k0: u32, k1: u32, stream: u32, b0_lo: u32, b0_hi: u32, r: u32, chunk: u32 }

// (lo, hi) of a 64-bit value.
fn g_add(a: vec2<u32>, b: u32) -> vec2<u32> {
  let lo = a.x + b;
  return vec2<u32>(lo, a.y + select(0u, 1u, lo < b));
}

// Block index (lo, hi) and word (z) of element i N + e of the row-major matrix.
fn g_locate(i: u32, e: u32, n: u32, b0_lo: u32, b0_hi: u32, r: u32) -> vec3<u32> {
  let p = lr_mulhilo(i, n); // (hi, lo)
  let rel = g_add(vec2<u32>(p.y, p.x), r + e); // no overflow: e < N < 2^30 (x fits one storage binding)
  let q = vec2<u32>((rel.x >> 2u) | (rel.y << 30u), rel.y >> 2u);
  let lo = b0_lo + q.x;
  let hi = b0_hi + q.y + select(0u, 1u, lo < q.x);
  return vec3<u32>(lo, hi, rel.x & 3u);
}

fn g_normals(lo: u32, hi: u32, stream: u32, k0: u32, k1: u32) -> vec4<f32> {
  return lr_normal4(lr_philox4x32_10(vec4<u32>(lo, hi, stream, 0u), vec2<u32>(k0, k1)));
}

// ---- apply: y[i] = sum_e A[i, e] x[e]; one workgroup per measurement (linear index, folded grid) ----

@group(0) @binding(0) var<uniform> PA: GaussParams;
@group(0) @binding(1) var<storage, read> a_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> a_y: array<f32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn apply(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_index) li: u32) {
  let i = wg.x + wg.y * nwg.x;
  if (i >= PA.m) {
    return; // uniform per workgroup: safe before the barriers
  }
  let at = g_locate(i, 0u, PA.n, PA.b0_lo, PA.b0_hi, PA.r);
  let sub = at.z; // word of element 0 of the row in its block
  let blocks = (sub + PA.n + 3u) / 4u;
  var acc = 0.0;
  for (var j = li; j < blocks; j = j + 256u) {
    let b = g_add(at.xy, j);
    let v = g_normals(b.x, b.y, PA.stream, PA.k0, PA.k1);
    for (var w = 0u; w < 4u; w = w + 1u) {
      let q = 4u * j + w; // element q - sub of the row
      if (q >= sub && q - sub < PA.n) {
        acc = acc + v[w] * a_x[q - sub];
      }
    }
  }
  red[li] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s = s >> 1u) {
    if (li < s) {
      red[li] = red[li] + red[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    a_y[i] = red[0];
  }
}

// ---- adjoint, stage 1: partial[c N + e] = sum over rows i of chunk c of A[i, e] r[i] -------------------
// Grid (ceil(N / 1024), chunks); each invocation owns 4 consecutive entries e0 .. e0 + 3 (e0 = 4 t), which
// lie in at most two Philox blocks of each row.

@group(0) @binding(0) var<uniform> PT: GaussParams;
@group(0) @binding(1) var<storage, read> t_r: array<f32>;
@group(0) @binding(2) var<storage, read_write> t_part: array<f32>;

@compute @workgroup_size(256)
fn adjoint_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let e0 = 4u * (wg.x * 256u + li);
  if (e0 >= PT.n) {
    return;
  }
  let i0 = wg.y * PT.chunk;
  let i1 = min(PT.m, i0 + PT.chunk);
  var acc = vec4<f32>(0.0);
  for (var i = i0; i < i1; i = i + 1u) {
    let at = g_locate(i, e0, PT.n, PT.b0_lo, PT.b0_hi, PT.r);
    let v = g_normals(at.x, at.y, PT.stream, PT.k0, PT.k1);
    var a = vec4<f32>(0.0);
    let sub = at.z;
    for (var w = 0u; w < 4u; w = w + 1u) {
      if (sub + w < 4u) {
        a[w] = v[sub + w];
      }
    }
    if (sub != 0u) {
      let b = g_add(at.xy, 1u);
      let v2 = g_normals(b.x, b.y, PT.stream, PT.k0, PT.k1);
      for (var w = 0u; w < 4u; w = w + 1u) {
        if (sub + w >= 4u) {
          a[w] = v2[sub + w - 4u];
        }
      }
    }
    acc = acc + t_r[i] * a;
  }
  let base = wg.y * PT.n;
  for (var w = 0u; w < 4u; w = w + 1u) {
    if (e0 + w < PT.n) {
      t_part[base + e0 + w] = acc[w];
    }
  }
}

// ---- adjoint, stage 2: z[e] = sum_c partial[c N + e] (c < chunks, passed in PS.m) -------------------

@group(0) @binding(0) var<uniform> PS: GaussParams;
@group(0) @binding(1) var<storage, read> s_part: array<f32>;
@group(0) @binding(2) var<storage, read_write> s_z: array<f32>;

@compute @workgroup_size(256)
fn adjoint_sum(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) li: u32) {
  let e = (wg.x + wg.y * nwg.x) * 256u + li;
  if (e >= PS.n) {
    return;
  }
  var acc = 0.0;
  for (var c = 0u; c < PS.m; c = c + 1u) {
    acc = acc + s_part[c * PS.n + e];
  }
  s_z[e] = acc;
}

// ---- sign: 1, -1, 0 for x > 0, x < 0, x = 0; NaN stays NaN (detected from the bits) ------------------

struct SignParams { n: u32 }

@group(0) @binding(0) var<uniform> PG: SignParams;
@group(0) @binding(1) var<storage, read> g_x: array<f32>;
@group(0) @binding(2) var<storage, read_write> g_out: array<f32>;

@compute @workgroup_size(256)
fn sign_map(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i >= PG.n) {
    return;
  }
  let v = g_x[i];
  let bits = bitcast<u32>(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    g_out[i] = v;
  } else if ((bits & 0x7fffffffu) == 0u) {
    g_out[i] = 0.0;
  } else if ((bits & 0x80000000u) != 0u) {
    g_out[i] = -1.0;
  } else {
    g_out[i] = 1.0;
  }
}
