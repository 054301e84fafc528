// Identity and Philox random fills.
//!include "philox.wgsl"

struct EyeParams { rows: u32, cols: u32 }
struct RandParams { n: u32, k0: u32, k1: u32, stream: u32, normal: u32 }

@group(0) @binding(0) var<uniform> PE: EyeParams;
@group(0) @binding(1) var<storage, read_write> eye_out: array<f32>;

@compute @workgroup_size(256)
fn eye(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i < min(PE.rows, PE.cols)) {
    eye_out[i * PE.cols + i] = 1.0;
  }
}

@group(0) @binding(0) var<uniform> PR: RandParams;
@group(0) @binding(1) var<storage, read_write> rand_out: array<f32>;

// One invocation per Philox block of 4 elements (stream layout: README "Random numbers").
@compute @workgroup_size(256)
fn random(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) li: u32) {
  let b = (wg.x + wg.y * nwg.x) * 256u + li;
  let base = b * 4u;
  if (base >= PR.n) {
    return;
  }
  let r = lr_philox4x32_10(vec4<u32>(b, 0u, PR.stream, 0u), vec2<u32>(PR.k0, PR.k1));
  var v: vec4<f32>;
  if (PR.normal != 0u) {
    v = lr_normal4(r);
  } else {
    v = vec4<f32>(lr_unit_f32(r.x), lr_unit_f32(r.y), lr_unit_f32(r.z), lr_unit_f32(r.w));
  }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (base + j < PR.n) {
      rand_out[base + j] = v[j];
    }
  }
}
