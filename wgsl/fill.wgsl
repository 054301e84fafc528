// Identity, constant and Philox random fills.
//!include "philox.wgsl"

struct EyeParams { rows: u32, cols: u32 }
struct FullParams { n: u32, value: f32 }
// Output entry i is stream element offset + i. The 64-bit block index of invocation t is
// (b0_hi, b0_lo) + t with b0 = floor(offset / 4) and r = offset mod 4, so its word j is entry 4 t + j - r.
struct RandParams { n: u32, k0: u32, k1: u32, stream: u32, normal: u32, b0_lo: u32, b0_hi: u32, r: u32 }

@group(0) @binding(0) var<uniform> PE: EyeParams;
@group(0) @binding(1) var<storage, read_write> eye_out: array<f32>;

@compute @workgroup_size(256)
fn eye(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < min(PE.rows, PE.cols)) {
    eye_out[i * PE.cols + i] = 1.0;
  }
}

@group(0) @binding(0) var<uniform> PF: FullParams;
@group(0) @binding(1) var<storage, read_write> full_out: array<f32>;

// One invocation per element; linear index folded in 2-D by the runtime.
@compute @workgroup_size(256)
fn full(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * nwg.x) * 256u + li;
  if (i < PF.n) {
    full_out[i] = PF.value;
  }
}

@group(0) @binding(0) var<uniform> PR: RandParams;
@group(0) @binding(1) var<storage, read_write> rand_out: array<f32>;

// One invocation per Philox block of 4 elements (stream layout: README "Random numbers").
@compute @workgroup_size(256)
fn random(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let t = (wg.x + wg.y * nwg.x) * 256u + li;
  // Entries 4 t - r .. 4 t - r + 3 (as integers; the first block may start before entry 0).
  if (4u * t >= PR.n + PR.r) {
    return;
  }
  let lo = PR.b0_lo + t;
  let hi = PR.b0_hi + select(0u, 1u, lo < t); // carry of the 64-bit add
  let x = lr_philox4x32_10(vec4<u32>(lo, hi, PR.stream, 0u), vec2<u32>(PR.k0, PR.k1));
  var v: vec4<f32>;
  if (PR.normal != 0u) {
    v = lr_normal4(x);
  } else {
    v = vec4<f32>(lr_unit_f32(x.x), lr_unit_f32(x.y), lr_unit_f32(x.z), lr_unit_f32(x.w));
  }
  for (var j = 0u; j < 4u; j = j + 1u) {
    let q = 4u * t + j; // entry q - r
    if (q >= PR.r && q - PR.r < PR.n) {
      rand_out[q - PR.r] = v[j];
    }
  }
}
